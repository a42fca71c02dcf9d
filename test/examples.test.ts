// Runs each program in examples/ as a user would (`node examples/<x>.js`, which loads the
// built library from dist/) and checks with real PCP that it shows what it promises.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, type ExpectStatic, it } from 'vitest';
import {
  describeMetrics,
  describePcp,
  fetchValues,
  labels,
  type MetricDescription,
  MMV_DOMAIN,
  makePcpTmpDir,
  ownLabels,
  type PminfoValue,
  removePcpTmpDir,
} from './support/pcp';

const repo = path.resolve(__dirname, '..');

interface Example {
  /** The PCP_TMP_DIR it writes under. */
  dir: string;
  /** Where its MMV file appears. */
  file: string;
  stdout: () => string;
  stderr: () => string;
  /** Whether the process is still running: with the PROCESS flag PCP only sees it then. */
  alive: () => boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Array<{ dir: string; kill: () => void }> = [];

afterAll(() => {
  // Only a failed test leaves a child running; its file goes with the directory.
  for (const s of started) {
    s.kill();
    removePcpTmpDir(s.dir);
  }
});

/**
 * Starts `node examples/<script>` with a private PCP_TMP_DIR and waits until it has printed
 * its line (after start() and flush()) and its file is in <dir>/mmv.
 */
async function runExample(
  script: string,
  fileName: string,
  env: { EXAMPLE_SECONDS: string; EXAMPLE_INTERVAL_MS?: string },
): Promise<Example> {
  const dir = makePcpTmpDir();
  const file = path.join(dir, 'mmv', fileName);
  const child = spawn(process.execPath, [path.join('examples', script)], {
    cwd: repo,
    env: { ...process.env, PCP_TMP_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push({ dir, kill: () => child.kill('SIGKILL') });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => {
    stdout += t;
  });
  child.stderr.setEncoding('utf8').on('data', (t: string) => {
    stderr += t;
  });
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  const example: Example = {
    dir,
    file,
    stdout: () => stdout,
    stderr: () => stderr,
    alive: () => running,
    exited,
  };
  await until(
    () => stdout.includes('\n') && existsSync(file),
    10_000,
    () =>
      `${script} did not print its line and write ${file}; ` +
      `running: ${running}, stdout: ${JSON.stringify(stdout)}, stderr: ${JSON.stringify(stderr)}`,
  );
  return example;
}

async function until(ok: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await sleep(25);
  }
}

/** Retries an async check until it stops throwing; rethrows its last failure at the deadline. */
async function eventually<T>(check: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The example exits by itself when EXAMPLE_SECONDS are up, and pcp-agent removes its file. */
async function expectCleanExit(expect: ExpectStatic, ex: Example): Promise<void> {
  expect(await ex.exited).toEqual({ code: 0, signal: null });
  expect(ex.stderr()).toBe('');
  expect(existsSync(ex.file)).toBe(false);
  expect(readdirSync(path.dirname(ex.file))).toEqual([]);
}

/** Metric names under prefix, without it. */
function shortNames(described: Map<string, unknown>, prefix: string): string[] {
  return [...described.keys()].map((n) => n.slice(prefix.length + 1)).sort();
}

function metric(described: Map<string, MetricDescription>, name: string): MetricDescription {
  const d = described.get(name);
  if (d === undefined) throw new Error(`PCP shows no ${name}; it shows ${[...described.keys()]}`);
  return d;
}

/** An instance domain's PCP id: pmdammv packs the file's cluster and the serial together. */
function indomOf(pmid: string, serial: number): string {
  const cluster = Number(pmid.split('.')[1]);
  return `${MMV_DOMAIN}.${(cluster << 11) | serial}`;
}

function num(v: PminfoValue | undefined): number {
  if (typeof v !== 'number') throw new Error(`expected a number, got ${String(v)}`);
  return v;
}

/** HDR histograms keep 3 significant digits: a percentile is within 0.1% of the value. */
function expectNear(expect: ExpectStatic, actual: PminfoValue | undefined, expected: number): void {
  expect(Math.abs(num(actual) - expected)).toBeLessThanOrEqual(expected * 0.001);
}

describePcp('examples/', () => {
  describe.concurrent('acme.js', () => {
    const prefix = 'mmv.acme';
    const products = ['Anvils', 'Rockets', 'Giant_Rubber_Bands'];

    it('shows the three products with counts, machine time and queue time as acme.c does', async ({
      expect,
    }) => {
      const ex = await runExample('acme.js', 'acme', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '0',
      });
      expect(ex.stdout()).toBe(
        `acme: writing ${ex.file} for 4 s; see it with: pminfo -f mmv.acme (or pmval -t 1 mmv.acme.products.count)\n`,
      );

      const d = await describeMetrics(ex.dir, prefix);
      expect(ex.alive()).toBe(true);
      expect(shortNames(d, prefix)).toEqual([
        'products.count',
        'products.queuetime',
        'products.time',
      ]);
      const count = metric(d, `${prefix}.products.count`);
      const instanceIds = new Map(products.map((p, i) => [p, i]));
      expect(count).toMatchObject({
        type: 'U64',
        semantics: 'counter',
        units: 'count',
        indom: indomOf(count.pmid, 61),
        instanceIds,
        oneLine: 'Acme factory product throughput',
        help:
          'Monotonic increasing counter of products produced in the Acme Corporation\n' +
          'factory since starting the Acme production application.  Quality guaranteed.',
        values: new Map([
          ['Anvils', 1],
          ['Rockets', 2],
          ['Giant_Rubber_Bands', 3],
        ]),
      });
      expect(metric(d, `${prefix}.products.time`)).toMatchObject({
        type: 'U64',
        semantics: 'counter',
        units: 'microsec',
        indom: count.indom,
        instanceIds,
        oneLine: 'Machine time spent producing Acme products',
        help:
          'Machine time spent producing Acme Corporation products.  Does not include\n' +
          'time in queues waiting for production machinery.',
        values: new Map([
          ['Anvils', 100],
          ['Rockets', 400],
          ['Giant_Rubber_Bands', 900],
        ]),
      });
      expect(metric(d, `${prefix}.products.queuetime`)).toMatchObject({
        type: 'U64',
        semantics: 'counter',
        units: 'microsec',
        indom: count.indom,
        instanceIds,
        oneLine: 'Queued time while producing Acme products',
        help:
          'Time spent in the queue waiting to build Acme Corporation products,\n' +
          'while some other Acme product was being built instead of this one.',
        // Each product waits while the other two are made.
        values: new Map([
          ['Anvils', 400 + 900],
          ['Rockets', 100 + 900],
          ['Giant_Rubber_Bands', 100 + 400],
        ]),
      });
      await expectCleanExit(expect, ex);
    });

    it('keeps producing: counts grow, and all queue time is twice all machine time', async ({
      expect,
    }) => {
      const ex = await runExample('acme.js', 'acme', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '20',
      });
      const total = (v: Map<string | null, PminfoValue> | undefined): number =>
        [...(v ?? new Map()).values()].reduce((a: number, x) => a + num(x), 0);
      const seen = await eventually(async () => {
        const v = await fetchValues(ex.dir, [prefix]);
        const made = total(v.get(`${prefix}.products.count`)?.values);
        if (made <= 6 + 5) throw new Error(`only ${made} products made so far`);
        return v;
      }, 3000);
      expect([...(seen.get(`${prefix}.products.count`)?.values.keys() ?? [])]).toEqual(products);
      expect(total(seen.get(`${prefix}.products.queuetime`)?.values)).toBe(
        2 * total(seen.get(`${prefix}.products.time`)?.values),
      );
      await expectCleanExit(expect, ex);
    });
  });

  describe.concurrent('counter.js', () => {
    const prefix = 'mmv.worker';

    it('shows a counter of jobs processed, a gauge of jobs waiting and the self-metrics', async ({
      expect,
    }) => {
      const ex = await runExample('counter.js', 'worker', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '0',
      });
      expect(ex.stdout()).toBe(
        `worker: writing ${ex.file} for 4 s; see it with: pminfo -f mmv.worker (or pmval -t 1 mmv.worker.jobs.processed)\n`,
      );

      const d = await describeMetrics(ex.dir, prefix);
      expect(ex.alive()).toBe(true);
      expect(shortNames(d, prefix)).toEqual([
        'jobs.processed',
        'jobs.waiting',
        'pcp_agent.errors',
        'pcp_agent.flush.count',
        'pcp_agent.flush.time',
        'pcp_agent.instances.overflowed',
        'pcp_agent.publishes',
      ]);
      expect(metric(d, `${prefix}.jobs.processed`)).toMatchObject({
        type: 'U64',
        semantics: 'counter',
        units: 'count',
        indom: null,
        oneLine: 'Jobs processed since the worker started',
        help: 'Jobs processed since the worker started',
        values: new Map([[null, 3]]),
      });
      expect(metric(d, `${prefix}.jobs.waiting`)).toMatchObject({
        type: 'DOUBLE',
        semantics: 'instant',
        units: 'count',
        indom: null,
        oneLine: 'Jobs in the queue, not yet started',
        help: 'Jobs in the queue, not yet started',
        values: new Map([[null, 7]]),
      });
      // Self-metrics: one publish (start), one flush of changed values (flush()), no errors.
      const self = (name: string, value: number) =>
        expect(metric(d, `${prefix}.pcp_agent.${name}`)).toMatchObject({
          type: 'U64',
          semantics: 'counter',
          units: 'count',
          indom: null,
          values: new Map([[null, value]]),
        });
      self('errors', 0);
      self('instances.overflowed', 0);
      self('publishes', 1);
      self('flush.count', 1);
      expect(metric(d, `${prefix}.pcp_agent.flush.time`)).toMatchObject({
        type: 'DOUBLE',
        semantics: 'counter',
        units: 'microsec',
        oneLine: 'Flushes of changed values to the file (time)',
      });
      expect(num(d.get(`${prefix}.pcp_agent.flush.time`)?.values.get(null))).toBeGreaterThan(0);
      await expectCleanExit(expect, ex);
    });

    it('keeps working: jobs processed grow', async ({ expect }) => {
      const ex = await runExample('counter.js', 'worker', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '20',
      });
      await eventually(async () => {
        const v = await fetchValues(ex.dir, [`${prefix}.jobs`]);
        const processed = num(v.get(`${prefix}.jobs.processed`)?.values.get(null));
        if (processed <= 3) throw new Error(`only ${processed} jobs processed so far`);
        expect(num(v.get(`${prefix}.jobs.waiting`)?.values.get(null))).toBeGreaterThanOrEqual(0);
      }, 3000);
      await expectCleanExit(expect, ex);
    });
  });

  describe.concurrent('histogram.js', () => {
    const prefix = 'mmv.api';
    const h = `${prefix}.request.latency`;
    const spread = ['min', 'max', 'p50', 'p90', 'p99'];
    const buckets = ['le_10', 'le_50', 'le_100', 'le_500', 'le_inf'];

    it('shows count, sum and buckets at once, and the spread of each 1-second window', async ({
      expect,
    }) => {
      const ex = await runExample('histogram.js', 'api', {
        EXAMPLE_SECONDS: '6',
        EXAMPLE_INTERVAL_MS: '0',
      });
      expect(ex.stdout()).toBe(
        `api: writing ${ex.file} for 6 s; see it with: pminfo -f mmv.api (or pmval -t 1 mmv.api.request.latency.p99)\n`,
      );

      const d = await describeMetrics(ex.dir, prefix);
      expect(ex.alive()).toBe(true);
      expect(shortNames(d, h)).toEqual(
        ['count', 'sum', ...spread, ...buckets.map((b) => `bucket.${b}`)].sort(),
      );
      // No long help was given, so libpcp answers with the one-line text.
      const described = (what: string) => ({
        indom: null,
        oneLine: `Request latency: ${what}`,
        help: `Request latency: ${what}`,
      });
      expect(metric(d, `${h}.count`)).toMatchObject({
        type: 'U64',
        semantics: 'counter',
        units: 'count',
        ...described('count'),
        values: new Map([[null, 10]]),
      });
      expect(metric(d, `${h}.sum`)).toMatchObject({
        type: 'DOUBLE',
        semantics: 'counter',
        units: 'millisec',
        ...described('sum'),
        values: new Map([[null, 5 + 8 + 12 + 20 + 35 + 60 + 90 + 150 + 300 + 750]]),
      });
      const spreadHelp: Record<string, string> = {
        min: 'minimum over the last window',
        max: 'maximum over the last window',
        p50: '50th percentile over the last window',
        p90: '90th percentile over the last window',
        p99: '99th percentile over the last window',
      };
      for (const s of spread) {
        expect(metric(d, `${h}.${s}`)).toMatchObject({
          type: 'DOUBLE',
          semantics: 'instant',
          units: 'millisec',
          ...described(spreadHelp[s]!),
        });
      }
      const cumulative = [2, 5, 7, 9, 10];
      buckets.forEach((b, k) => {
        expect(metric(d, `${h}.bucket.${b}`)).toMatchObject({
          type: 'U64',
          semantics: 'counter',
          units: 'count',
          ...described(b === 'le_inf' ? 'all observations' : `observations <= ${b.slice(3)}`),
          values: new Map([[null, cumulative[k]]]),
        });
      });

      // The first window ends a second after the start: its spread shows for one window...
      const first = await eventually(async () => {
        const v = await fetchValues(
          ex.dir,
          spread.map((s) => `${h}.${s}`),
        );
        if (v.get(`${h}.max`)?.values.get(null) === 0) throw new Error('first window not over');
        return v;
      }, 3000);
      const at = (s: string) => first.get(`${h}.${s}`)?.values.get(null);
      expectNear(expect, at('min'), 5);
      expectNear(expect, at('p50'), 35);
      expectNear(expect, at('p90'), 300);
      expectNear(expect, at('p99'), 750);
      expectNear(expect, at('max'), 750);
      // ...then the next window is empty, and shows zeros.
      await eventually(async () => {
        const v = await fetchValues(ex.dir, [`${h}.max`]);
        expect(v.get(`${h}.max`)?.values.get(null)).toBe(0);
      }, 3000);
      await expectCleanExit(expect, ex);
    });

    it('keeps recording: min <= p50 <= p90 <= p99 <= max, buckets add up to the count', async ({
      expect,
    }) => {
      const ex = await runExample('histogram.js', 'api', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '10',
      });
      const v = await eventually(async () => {
        const v = await fetchValues(ex.dir, [h]);
        if (num(v.get(`${h}.count`)?.values.get(null)) <= 10) throw new Error('no new requests');
        if (v.get(`${h}.max`)?.values.get(null) === 0) throw new Error('first window not over');
        return v;
      }, 3000);
      const at = (s: string) => num(v.get(`${h}.${s}`)?.values.get(null));
      // Random latencies are 5-1000 ms.
      expect(at('min')).toBeGreaterThanOrEqual(5 * 0.999);
      expect(at('max')).toBeLessThanOrEqual(1000 * 1.001);
      for (const [lower, upper] of [
        ['min', 'p50'],
        ['p50', 'p90'],
        ['p90', 'p99'],
        ['p99', 'max'],
      ] as const) {
        expect(at(lower)).toBeLessThanOrEqual(at(upper));
      }
      const counts = buckets.map((b) => at(`bucket.${b}`));
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(at('bucket.le_inf')).toBe(at('count'));
      await expectCleanExit(expect, ex);
    });
  });

  describe.concurrent('string.js', () => {
    const prefix = 'mmv.app';

    it('shows the version and the current mode as discrete strings', async ({ expect }) => {
      const ex = await runExample('string.js', 'app', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '0',
      });
      expect(ex.stdout()).toBe(
        `app: writing ${ex.file} for 4 s; see it with: pminfo -f mmv.app (or pmval -t 1 mmv.app.mode)\n`,
      );

      const d = await describeMetrics(ex.dir, prefix);
      expect(ex.alive()).toBe(true);
      expect(shortNames(d, prefix)).toEqual(['mode', 'version']);
      expect(metric(d, `${prefix}.version`)).toMatchObject({
        type: 'STRING',
        semantics: 'discrete',
        units: '',
        indom: null,
        oneLine: 'Version of the running application',
        help: 'Version of the running application',
        values: new Map([[null, '1.4.2']]),
      });
      expect(metric(d, `${prefix}.mode`)).toMatchObject({
        type: 'STRING',
        semantics: 'discrete',
        units: '',
        indom: null,
        oneLine: 'What the application is doing now',
        help: 'One of starting, serving, draining, maintenance.',
        values: new Map([[null, 'starting']]),
      });
      await expectCleanExit(expect, ex);
    });

    it('changes mode: serving, then draining', async ({ expect }) => {
      const ex = await runExample('string.js', 'app', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '400',
      });
      const mode = async () =>
        (await fetchValues(ex.dir, [`${prefix}.mode`])).get(`${prefix}.mode`)?.values.get(null);
      for (const expected of ['serving', 'draining']) {
        await eventually(async () => {
          expect(await mode()).toBe(expected);
        }, 3000);
      }
      await expectCleanExit(expect, ex);
    });
  });

  describe.concurrent('labels.js', () => {
    const prefix = 'mmv.shop';
    const name = `${prefix}.http.requests`;
    const fileLabels = { app: 'shop', env: 'prod' };
    const promised = new Map([
      ['GET_/cart_200', { method: 'GET', route: '/cart', status: 200 }],
      ['POST_/cart_201', { method: 'POST', route: '/cart', status: 201 }],
      ['GET_/product_404', { method: 'GET', route: '/product', status: 404 }],
    ]);

    it('shows a request counter per method, route and status, with the file labels', async ({
      expect,
    }) => {
      const ex = await runExample('labels.js', 'shop', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '0',
      });
      expect(ex.stdout()).toBe(
        `shop: writing ${ex.file} for 4 s; see it with: pminfo -fl mmv.shop (or pmval -t 1 mmv.shop.http.requests)\n`,
      );

      const d = await describeMetrics(ex.dir, prefix);
      const l = await labels(ex.dir, prefix);
      expect(ex.alive()).toBe(true);
      expect(shortNames(d, prefix)).toEqual(['http.requests']);
      expect(metric(d, name)).toMatchObject({
        type: 'U64',
        semantics: 'counter',
        units: 'count',
        oneLine: 'HTTP requests served',
        help: 'HTTP requests served',
        values: new Map([
          ['GET_/cart_200', 5],
          ['POST_/cart_201', 2],
          ['GET_/product_404', 1],
        ]),
      });
      expect(metric(d, name).indom).not.toBeNull();
      const requests = l.get(name)!;
      expect(ownLabels(requests.labels)).toEqual(fileLabels);
      expect([...requests.instances.keys()]).toEqual([...promised.keys()]);
      for (const [inst, set] of requests.instances) {
        expect(ownLabels(set)).toEqual({ ...fileLabels, ...promised.get(inst) });
      }
      await expectCleanExit(expect, ex);
    });

    it('keeps serving: new routes appear as instances, each with its labels', async ({
      expect,
    }) => {
      const ex = await runExample('labels.js', 'shop', {
        EXAMPLE_SECONDS: '4',
        EXAMPLE_INTERVAL_MS: '10',
      });
      const requests = await eventually(async () => {
        const r = (await labels(ex.dir, prefix)).get(name);
        if (r === undefined || r.instances.size <= 3) throw new Error('no new route yet');
        return r;
      }, 3000);
      for (const [inst, set] of requests.instances) {
        const [, method, route, status] = /^(GET|POST)_(\/[a-z]+)_(\d{3})$/.exec(inst) ?? [];
        expect(route, `instance name ${inst}`).toBeDefined();
        expect(ownLabels(set)).toEqual({ ...fileLabels, method, route, status: Number(status) });
      }
      await expectCleanExit(expect, ex);
    });
  });
});
