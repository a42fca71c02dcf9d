// The decorators as users get them: fixtures (test/fixtures/decorators) compiled by the repo's
// `tsc` with experimentalDecorators + emitDecoratorMetadata and with standard decorators, run
// as processes, and counted by real PCP (pminfo with pmdammv in-process).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type AppRun, ROOT, spawnApp } from './support/app';
import {
  describeMetrics,
  describePcp,
  fetchValues,
  type MetricValues,
  removePcpTmpDir,
} from './support/pcp';
import { poll } from './support/poll';

type Mode = 'legacy' | 'standard';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'decorators');
// Inside the package, so the fixtures import it by name (`pcp-agent`), as an app would.
const OUT = path.join(ROOT, 'dist', '.decorator-fixtures', `run-${process.pid}`);
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');

const compiled = new Map<Mode, string>();

/** Compiles the fixtures of one mode with tsc (once); returns the output directory. */
function compile(mode: Mode): string {
  const done = compiled.get(mode);
  if (done !== undefined) return done;
  const out = path.join(OUT, mode);
  const r = spawnSync(TSC, ['-p', path.join(FIXTURES, `tsconfig.${mode}.json`), '--outDir', out], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`tsc (${mode}) failed:\n${r.stdout}\n${r.stderr}`);
  compiled.set(mode, out);
  return out;
}

const runs: AppRun[] = [];

afterEach(() => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    removePcpTmpDir(r.pcpTmpDir);
  }
});

afterAll(() => {
  fs.rmSync(OUT, { recursive: true, force: true });
});

function start(script: string, options: Parameters<typeof spawnApp>[1] = {}): AppRun {
  const run = spawnApp(script, options);
  runs.push(run);
  return run;
}

/** Metric name (without the prefix) → value, for singletons; instance → value otherwise. */
function flatten(values: Map<string, MetricValues>, prefix: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, v] of values) {
    const short = name.slice(prefix.length + 1);
    if (v.values.has(null)) out.set(short, Number(v.values.get(null)));
    else out.set(short, Object.fromEntries([...v.values].map(([i, x]) => [i, Number(x)])));
  }
  return out;
}

/** pminfo's values under a prefix, polled until check() passes (a flush is 100-250 ms). */
async function eventually(
  run: AppRun,
  prefix: string,
  check: (m: Map<string, unknown>) => void,
): Promise<Map<string, unknown>> {
  return poll(
    `${prefix} in PCP`,
    async () => {
      const m = flatten(await fetchValues(run.pcpTmpDir, [prefix]), prefix);
      check(m);
      return m;
    },
    { timeoutMs: 10_000, intervalMs: 150 },
  );
}

const EXPECTED: Record<string, number> = {
  'Shop.open.count': 3, // twice on Shop, once on Outlet (the inherited static)
  'Shop.open.errors': 0,
  'Shop.openedCount': 3, // the @Gauge, read at each flush
  'Shop.add.count': 8, // 5 on the shop, 3 through Outlet's super.add()
  'Shop.add.errors': 0,
  'Outlet.add.count': 3,
  'Shop.checkout.count': 6,
  'Shop.checkout.errors': 2, // thrown
  'Shop.ship.count': 4,
  'Shop.ship.errors': 1, // an async method that threw
  'Shop.quote.count': 5,
  'Shop.quote.errors': 3, // a returned promise that rejected
  'Shop.quote.bucket.le_inf': 5,
  'Shop.items.count': 2, // two runs of a generator
  'Shop.feed.count': 1, // one run of an async generator
  'Shop.feed.errors': 0,
  'Ledger.create.count': 1, // @Counter on the class: its static method
  'Ledger.record.count': 4, // and its instance method
};

const ONLY: Record<Mode, Record<string, number>> = {
  legacy: { 'Api.a.count': 1, 'Api.b.count': 1 },
  standard: { 'Pool.free': 7, 'Vault.audit.count': 2 },
};

describe.each(['legacy', 'standard'] as const)('compiled by tsc, %s decorators', (mode) => {
  const prefix = 'mmv.pcp_agent.methods';

  describePcp('real PCP', () => {
    it('shows every call, thrown error and rejected promise, with exact counts', async () => {
      const run = start(path.join(compile(mode), `${mode}.js`), { preload: 'none' });
      await run.line(/^DEFINED/);
      // Registered when the class is defined: PCP shows zeros before the first call.
      // Standard decorators give a method decorator no way to its class, so an instance
      // method (of a class without a class decorator) is registered by the first object.
      const before = await eventually(run, prefix, (m) => {
        expect(m.get('Shop.open.count')).toBe(0);
        expect(m.get('Shop.openedCount')).toBe(0);
        expect(m.get('Ledger.record.count')).toBe(0);
      });
      if (mode === 'legacy') expect(before.get('Shop.add.count')).toBe(0);
      else expect(before.has('Shop.add.count')).toBe(false);

      run.send('go');
      const seen = JSON.parse((await run.line(/^READY/)).slice('READY '.length));
      // Polled until every count is in: a flush can fall between the first calls and the last.
      const m = await eventually(run, prefix, (v) => {
        for (const [name, count] of Object.entries({ ...EXPECTED, ...ONLY[mode] })) {
          expect([name, v.get(name)]).toEqual([name, count]);
        }
      });
      expect([...m.keys()].filter((k) => k.startsWith('Ledger.size'))).toEqual([]); // a getter

      // What the app itself saw: the methods behaved exactly as undecorated ones.
      expect(seen).toMatchObject({
        outletIsOutlet: true,
        stock: 15,
        outletStock: 16,
        sameErrorThrown: true,
        shipped: ['shipped', 'shipped', 'shipped'],
        lostIsDeclined: true,
        quotes: [42, 42],
        sameErrorRejected: true,
        items: [
          [0, 1, 2],
          [0, 1],
        ],
        fed: [0, 1, 2],
        ledgerSize: 4,
        identity: { name: 'add', length: 1, shipIs: 'AsyncFunction', itemsIs: 'GeneratorFunction' },
      });
      expect([...seen.outletMetrics].sort()).toEqual(
        [
          'methods.Outlet.add',
          'methods.Shop.checkout',
          'methods.Shop.feed',
          'methods.Shop.items',
          'methods.Shop.open',
          'methods.Shop.openedCount',
          'methods.Shop.quote',
          'methods.Shop.ship',
        ].sort(),
      );
      if (mode === 'legacy') {
        expect(seen.api).toEqual(['x', 'y1']);
        expect(seen.routes).toEqual(['/a', '/b']); // other decorators' metadata, both orders
        expect(seen.paramtypes).toEqual(['String', 'Number']); // emitDecoratorMetadata's
        expect(seen.definition).toMatchObject({ kind: 'timer', name: 'methods.Shop.checkout' });
        expect(seen.instanceGauge).toBe('PCP_AGENT_ERR_OPTION');
      } else {
        expect(seen.vault).toBe(2);
        expect(seen.vaultMetrics).toEqual(['#audit methods.Vault.audit']);
      }

      // Types, semantics, units and help as declared.
      const d = await describeMetrics(run.pcpTmpDir, `${prefix}.Shop`);
      expect(d.get(`${prefix}.Shop.ship.time`)).toMatchObject({
        semantics: 'counter',
        units: 'microsec',
        type: 'DOUBLE',
      });
      expect(d.get(`${prefix}.Shop.checkout.count`)).toMatchObject({
        semantics: 'counter',
        type: 'U64',
      });
      expect(d.get(`${prefix}.Shop.openedCount`)).toMatchObject({
        semantics: 'instant',
        oneLine: 'Shops opened',
      });

      run.send('quit');
      expect(await run.exited()).toEqual({ code: 0, signal: null });
    });

    it('a class defined and used before the agent starts lands in the agent’s file', async () => {
      const run = start(path.join(compile(mode), 'before-agent.js'), { preload: 'none' });
      const seen = JSON.parse((await run.line(/^READY/)).slice('READY '.length));
      expect(seen).toEqual({ registryBefore: true, sameRegistry: true });
      const m = await eventually(run, 'mmv.pcp_agent', (v) => {
        expect(v.get('methods.Jobs.run.count')).toBe(7); // 3 before the agent, 4 after
        expect(v.get('methods.Jobs.work.count')).toBe(7);
        expect(v.get('methods.Late.ping.count')).toBe(2); // a class defined after it
      });
      expect(m.has('pcp_agent.version')).toBe(true); // the agent's own metrics, same file
      expect(m.has('runtime.heap.used')).toBe(true);
      expect(run.files()).toEqual(['pcp_agent']);
      run.send('quit');
      expect(await run.exited()).toEqual({ code: 0, signal: null });
      expect(run.files()).toEqual([]);
    });
  });
});

function get(
  port: number,
  p: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describePcp('NestJS with decorated controllers and services, under the agent', () => {
  it('routes and guards keep working; PCP counts the methods and their time per route', async () => {
    const run = start(path.join(compile('legacy'), 'nest.js'), {
      env: { PCP_AGENT_NAME: 'nest', PCP_AGENT_CONTEXT: '1' },
    });
    const port = Number((await run.line(/^READY/, 30_000)).split(' ')[1]);
    const key = { 'x-key': 'open' };
    const replies = [];
    for (let k = 0; k < 3; k++) replies.push(await get(port, '/orders/latest', key));
    for (let k = 0; k < 2; k++) replies.push(await get(port, '/orders/latest')); // the guard says no
    for (let k = 0; k < 4; k++) replies.push(await get(port, '/orders/count'));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 403, 403, 200, 200, 200, 200]);
    expect(JSON.parse(replies[0].body)).toEqual({ id: 'latest', total: 60 });
    expect(JSON.parse(replies[5].body)).toEqual({ count: 2 });

    // Polled until the last response is in too: it is counted at its 'close', after the method.
    const m = await eventually(run, 'mmv.nest', (v) => {
      expect(v.get('methods.OrdersController.count.count')).toBe(4);
      expect(v.get('http.server.requests')).toEqual({
        'GET:/orders/latest:200': 3,
        'GET:/orders/latest:403': 2,
        'GET:/orders/count:200': 4,
      });
    });
    expect(m.get('methods.OrdersController.latest.count')).toBe(3); // not the 403s
    expect(m.get('methods.OrderService.find.count')).toBe(3);
    expect(m.get('methods.OrderService.price.count')).toBe(3);
    // Time in decorated methods, per route: only routes that ran a timed method have any.
    const time = m.get('http.server.methods.time') as Record<string, number>;
    expect(time['GET:/orders/latest:200']).toBeGreaterThan(0);
    expect(time['GET:/orders/latest:403']).toBe(0);
    expect(time['GET:/orders/count:200']).toBe(0); // @Counter counts, it does not time
    run.send('quit');
    expect(await run.exited()).toEqual({ code: 0, signal: null });
  });
});
