import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../src/cli/run';
import {
  type FrameView,
  formatDecimal,
  readForWatch,
  renderFrame,
  runWatch,
  watch,
} from '../src/cli/watch';
import { type Counter, type MetricVector, Registry } from '../src/index';
import { Flag, SemanticsCode, TypeCode } from '../src/mmv/format';
import type { MmvFile, MmvMetric, MmvValue } from '../src/mmv/reader';
import { encodeUnits, NO_UNITS, Units } from '../src/mmv/units';
import { privateBuild } from './support/build';
import { buildV1, U64_BIG } from './support/handmade-mmv';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-watch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A scratch directory inside tmp. */
const scratch = (prefix: string): string => fs.mkdtempSync(path.join(tmp, prefix));

/** A pid that existed a moment ago and has exited since. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

// ---- samples for the pure rendering tests ----------------------------------------------

type Kind = Pick<MmvMetric, 'typeName' | 'semanticsName' | 'units'>;

const counter = (units = Units.count()): Kind => ({
  typeName: 'u64',
  semanticsName: 'counter',
  units,
});
const KINDS: Record<string, Kind> = {
  'http.requests': counter(),
  'net.received': { typeName: 'double', semanticsName: 'counter', units: Units.space('KiB') },
  'queue.depth': { typeName: 'double', semanticsName: 'instant', units: NO_UNITS },
  latency: { typeName: 'u32', semanticsName: 'instant', units: Units.time('msec') },
  version: { typeName: 'string', semanticsName: 'discrete', units: NO_UNITS },
};
const TYPE_CODES = { u64: TypeCode.U64, u32: TypeCode.U32, double: TypeCode.DOUBLE };
const SEM_CODES = { counter: SemanticsCode.COUNTER, instant: SemanticsCode.INSTANT };

/** [metric, instance or null, value] */
type Entry = [string, string | null, MmvValue['value']];

/** A decoded file holding `entries`, as the reader would return it. */
function sample(entries: readonly Entry[], opts: { gen?: bigint; pid?: number } = {}): MmvFile {
  const names = [...new Set(entries.map((e) => e[0]))];
  const metrics: MmvMetric[] = names.map((name, i) => {
    const kind = KINDS[name]!;
    return {
      ...kind,
      name,
      item: i + 1,
      type: TYPE_CODES[kind.typeName as keyof typeof TYPE_CODES] ?? TypeCode.STRING,
      semantics: SEM_CODES[kind.semanticsName as keyof typeof SEM_CODES] ?? 4,
      unitsWord: encodeUnits(kind.units),
      indom: entries.some((e) => e[0] === name && e[1] !== null) ? 7 : null,
      indomField: -1,
      shortHelp: null,
      longHelp: null,
      offset: 1000 + 48 * i,
    };
  });
  const instanceNames = [...new Set(entries.flatMap((e) => (e[1] === null ? [] : [e[1]])))];
  const values: MmvValue[] = entries.map(([metric, instance, value], i) => ({
    offset: 5000 + 32 * i,
    metric,
    metricOffset: 1000 + 48 * names.indexOf(metric),
    typeName: KINDS[metric]!.typeName,
    instance,
    instanceId: instance === null ? null : instanceNames.indexOf(instance),
    instanceOffset: 0,
    value,
    extra: 0n,
  }));
  const gen = opts.gen ?? 1n;
  return {
    size: 8192,
    version: 1,
    generation1: gen,
    generation2: gen,
    stable: true,
    flags: Flag.PROCESS,
    noPrefix: false,
    process: true,
    sentinel: false,
    pid: opts.pid ?? 1234,
    cluster: 1,
    toc: [],
    indoms: [
      {
        serial: 7,
        instances: instanceNames.map((name, id) => ({ id, name, offset: 100 + 24 * id })),
        shortHelp: null,
        longHelp: null,
        offset: 80,
        instancesOffset: 100,
      },
    ],
    metrics,
    values,
    strings: [],
    labels: [],
    warnings: [],
  };
}

const VIEW: FrameView = { source: '/run/mmv/shop', alive: true };

/**
 * The table of a frame as cells, one object per row, cut at the header's column starts.
 * A metric's name is printed on its first row only; `metric` carries it down.
 */
function rows(lines: readonly string[]) {
  const head = lines.findIndex((l) => l.startsWith('METRIC'));
  expect(head, lines.join('\n')).toBeGreaterThan(0);
  const h = lines[head]!;
  const at = ['INSTANCE', 'VALUE', 'RATE'].map((c) => h.indexOf(c));
  let metric = '';
  return lines.slice(head + 1).map((line) => {
    metric = line.slice(0, at[0]).trim() || metric;
    return {
      metric,
      printed: line.slice(0, at[0]).trim(),
      instance: line.slice(at[0], at[1]).trim(),
      value: line.slice(at[1], at[2]).trim(),
      rate: line.slice(at[2]).trim(),
    };
  });
}

function cell(lines: readonly string[], metric: string, instance = '') {
  const row = rows(lines).find((r) => r.metric === metric && r.instance === instance);
  expect(row, `${metric}[${instance}] in\n${lines.join('\n')}`).toBeDefined();
  return row!;
}

describe('renderFrame', () => {
  const before = sample([
    ['http.requests', 'GET', 100n],
    ['http.requests', 'POST', 10n],
    ['net.received', null, 1.5],
    ['queue.depth', 'fast', 3],
    ['latency', null, 12],
    ['version', null, '1.4.2'],
  ]);
  const after = sample([
    ['http.requests', 'GET', 150n],
    ['http.requests', 'POST', 13n],
    ['net.received', null, 4],
    ['queue.depth', 'fast', 9],
    ['latency', null, 30],
    ['version', null, '1.4.3'],
  ]);

  it("gives a counter's rate as its increase divided by the elapsed seconds, per instance", () => {
    const lines = renderFrame(before, after, 2, VIEW);
    expect(cell(lines, 'http.requests', 'GET').rate).toBe('25 count/s');
    expect(cell(lines, 'http.requests', 'POST').rate).toBe('1.5 count/s');
  });

  it("writes a rate in the counter's own units per second", () => {
    expect(cell(renderFrame(before, after, 0.5, VIEW), 'net.received').rate).toBe('5 Kbyte/s');
  });

  it('computes 64-bit counter increases exactly, beyond 2^53', () => {
    const a = sample([['http.requests', null, U64_BIG]]);
    const b = sample([['http.requests', null, U64_BIG + 3n]]);
    const row = cell(renderFrame(a, b, 4, VIEW), 'http.requests');
    expect(row.value).toBe(`${U64_BIG + 3n} count`);
    expect(row.rate).toBe('0.75 count/s');
  });

  it('leaves the rate blank on the first sample', () => {
    expect(cell(renderFrame(null, after, 0, VIEW), 'http.requests', 'GET').rate).toBe('');
  });

  it('gives no rate for instant and discrete metrics, even when they changed', () => {
    const lines = renderFrame(before, after, 2, VIEW);
    expect(cell(lines, 'queue.depth', 'fast').rate).toBe('');
    expect(cell(lines, 'latency').rate).toBe('');
    expect(cell(lines, 'version').rate).toBe('');
  });

  it('leaves the rate blank after a counter went backwards', () => {
    const reset = sample([['http.requests', 'GET', 4n]]);
    expect(cell(renderFrame(before, reset, 1, VIEW), 'http.requests', 'GET').rate).toBe('');
  });

  it('leaves rates blank after the file was republished with a new generation', () => {
    const republished = sample([['http.requests', 'GET', 150n]], { gen: 2n });
    expect(cell(renderFrame(before, republished, 1, VIEW), 'http.requests', 'GET').rate).toBe('');
  });

  it('writes each value with its units, and a value without units as the number alone', () => {
    const lines = renderFrame(before, after, 1, VIEW);
    expect(cell(lines, 'latency').value).toBe('30 millisec');
    expect(cell(lines, 'http.requests', 'POST').value).toBe('13 count');
    expect(cell(lines, 'net.received').value).toBe('4 Kbyte');
    expect(cell(lines, 'queue.depth', 'fast').value).toBe('9');
  });

  it('shows strings as quoted strings, without units', () => {
    expect(cell(renderFrame(before, after, 1, VIEW), 'version').value).toBe('"1.4.3"');
  });

  it('rounds a double for reading', () => {
    const f = sample([['queue.depth', null, 90.73900000004187]]);
    expect(cell(renderFrame(null, f, 0, VIEW), 'queue.depth').value).toBe('90.74');
  });

  it('sorts by metric name and instance, naming a metric once above its instances', () => {
    const f = sample([
      ['version', null, 'x'],
      ['http.requests', 'POST', 1n],
      ['http.requests', 'GET', 2n],
      ['latency', null, 1],
    ]);
    const r = rows(renderFrame(null, f, 0, VIEW));
    expect(r.map((x) => [x.printed, x.instance])).toEqual([
      ['http.requests', 'GET'],
      ['', 'POST'],
      ['latency', ''],
      ['version', ''],
    ]);
  });

  it('aligns numbers to the right of the value column', () => {
    const f = sample([
      ['http.requests', 'GET', 5n],
      ['http.requests', 'POST', 12345n],
    ]);
    const r = rows(renderFrame(null, f, 0, VIEW));
    expect(r.map((x) => x.value)).toEqual(['5 count', '12345 count']);
    const lines = renderFrame(null, f, 0, VIEW);
    const ends = lines.filter((l) => l.includes(' count')).map((l) => l.indexOf(' count'));
    expect(new Set(ends).size).toBe(1);
  });

  it('heads the frame with the file, its PCP prefix, pid, liveness, version and counts', () => {
    const lines = renderFrame(null, before, 0, VIEW);
    expect(lines[0]).toBe('/run/mmv/shop  (PCP names mmv.shop.*)');
    expect(lines[1]).toBe('pid 1234 alive, version 1, 5 metrics, 3 instances, 6 values');
  });

  it('shows a PROCESS file whose pid is dead as "process <pid> is gone", without values', () => {
    const lines = renderFrame(null, before, 0, { ...VIEW, alive: false });
    expect(lines).toContain('process 1234 is gone (pmdammv ignores its file)');
    expect(lines.join('\n')).not.toContain('METRIC');
  });

  it('keeps showing a file without the PROCESS flag whose pid is not running', () => {
    const f = { ...before, flags: 0, process: false };
    const lines = renderFrame(null, f, 0, { ...VIEW, alive: false });
    expect(lines[1]).toMatch(/^pid 1234 not running \(no PROCESS flag\), /);
    expect(cell(lines, 'latency').value).toBe('12 millisec');
  });

  it('shows only metrics whose relative name starts with --filter', () => {
    const lines = renderFrame(before, after, 1, { ...VIEW, filter: 'http.' });
    expect(lines).toContain('2 of 6 values match "http."');
    expect(rows(lines).map((r) => r.metric)).toEqual(['http.requests', 'http.requests']);
  });
});

describe('formatDecimal', () => {
  it('keeps whole numbers, rounds others to two decimals or three significant digits', () => {
    expect(formatDecimal(25)).toBe('25');
    expect(formatDecimal(1 / 3)).toBe('0.333');
    expect(formatDecimal(200 / 3)).toBe('66.67');
    expect(formatDecimal(0.0001234)).toBe('0.000123');
  });
});

// ---- reading as pmdammv does --------------------------------------------------------------

/** buildV1's file (hits, a u64 counter, at value offset 624) owned by this live process. */
function v1(opts: { hits?: bigint; gen?: bigint; gen2?: bigint } = {}): Uint8Array {
  const b = buildV1({ pid: process.pid, flags: Flag.PROCESS });
  if (opts.hits !== undefined) b.u64(624, opts.hits);
  if (opts.gen !== undefined) b.u64(8, opts.gen).u64(16, opts.gen);
  if (opts.gen2 !== undefined) b.u64(16, opts.gen2);
  return b.bytes;
}

describe('readForWatch', () => {
  const dir = scratch('read-');
  const file = path.join(dir, 'app');

  it('says a missing file is missing', () => {
    expect(readForWatch(path.join(dir, 'nosuch'))).toEqual({ kind: 'missing' });
  });

  it('reads a stable file', () => {
    fs.writeFileSync(file, v1());
    const r = readForWatch(file);
    expect(r.kind).toBe('ok');
    expect(r.kind === 'ok' && r.file.values[0]!.value).toBe(U64_BIG);
  });

  it('skips a file whose gen1 and gen2 differ, as pmdammv does', () => {
    fs.writeFileSync(file, v1({ gen2: 0n }));
    expect(readForWatch(file)).toEqual({
      kind: 'changing',
      reason: 'generation numbers differ (being written)',
    });
  });

  it('skips a file whose generation is still 0', () => {
    fs.writeFileSync(file, v1({ gen: 0n }));
    expect(readForWatch(file).kind).toBe('changing');
  });

  it('skips rather than fails on a file still being filled that does not decode yet', () => {
    const half = v1({ gen2: 0n }).slice(0, 100);
    fs.writeFileSync(file, half);
    expect(readForWatch(file).kind).toBe('changing');
  });

  it('reports a finished file that does not decode as an error', () => {
    fs.writeFileSync(file, Buffer.alloc(64, 0x41));
    const r = readForWatch(file);
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.message).toMatch(/PCP_AGENT_ERR_FORMAT: .*bad magic/);
  });
});

// ---- the watch loop, in process ----------------------------------------------------------

/** Runs watch() and calls `onFrame` as each frame is written, before the next read. */
async function frames(
  file: string,
  count: number | null,
  onFrame: (n: number, text: string, stop: () => void) => void = () => {},
  opts: { isTTY?: boolean; filter?: string } = {},
): Promise<string[]> {
  const out: string[] = [];
  const stop = new AbortController();
  await watch(
    { path: file, intervalMs: 100, count, filter: opts.filter ?? '' },
    {
      isTTY: opts.isTTY ?? false,
      write: (text) => {
        out.push(text);
        onFrame(out.length, text, () => stop.abort());
      },
    },
    stop.signal,
  );
  return out;
}

const hitsRow = (frame: string) => cell(frame.replace(/^\n/, '').split('\n'), 'hits');

describe('watch', () => {
  it('prints --count frames, each headed by a timestamp, separated by a blank line', async () => {
    const file = path.join(scratch('loop-'), 'app');
    fs.writeFileSync(file, v1());
    const out = await frames(file, 3);
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}every 100 ms\n/);
    expect(out[1]).toMatch(/^\n\d{4}-\d\d-\d\dT/);
    expect(out.join('')).not.toContain('\x1b[');
  });

  it('clears the screen before each frame on a terminal', async () => {
    const file = path.join(scratch('tty-'), 'app');
    fs.writeFileSync(file, v1());
    const out = await frames(file, 2, undefined, { isTTY: true });
    for (const f of out) expect(f.startsWith('\x1b[H\x1b[2J')).toBe(true);
  });

  it('waits for a file that does not exist yet, then shows it', async () => {
    const file = path.join(scratch('wait-'), 'app.worker2');
    const out = await frames(file, 2, (n) => {
      if (n === 1) fs.writeFileSync(file, v1());
    });
    expect(out[0]).toContain(`waiting for ${file}`);
    expect(hitsRow(out[1]!).value).toBe(`${U64_BIG} count`);
  });

  it('computes the rate from the previous read of the same generation', async () => {
    const file = path.join(scratch('rate-'), 'app');
    fs.writeFileSync(file, v1({ hits: 1000n }));
    const out = await frames(file, 2, (n) => {
      if (n === 1) fs.writeFileSync(file, v1({ hits: 1500n }));
    });
    expect(hitsRow(out[0]!).rate).toBe('');
    expect(hitsRow(out[1]!).value).toBe('1500 count');
    expect(hitsRow(out[1]!).rate).toMatch(/^\d+(\.\d+)? count\/s$/);
    expect(Number.parseFloat(hitsRow(out[1]!).rate)).toBeGreaterThan(0);
  });

  it('keeps the last frame and retries while the file is mid-rewrite', async () => {
    const file = path.join(scratch('mid-'), 'app');
    fs.writeFileSync(file, v1({ hits: 10n }));
    const out = await frames(file, 3, (n) => {
      if (n === 1) fs.writeFileSync(file, v1({ hits: 20n, gen2: 0n }));
      if (n === 2) fs.writeFileSync(file, v1({ hits: 30n }));
    });
    expect(out[1]).toContain(`${file}: generation numbers differ (being written); retrying`);
    expect(hitsRow(out[1]!.split(`\n\n${file}: generation`)[0]!).value).toBe('10 count');
    expect(hitsRow(out[2]!).value).toBe('30 count');
    expect(hitsRow(out[2]!).rate).not.toBe('');
  });

  it('re-reads a file republished with a new generation from scratch, without rates', async () => {
    const file = path.join(scratch('gen-'), 'app');
    fs.writeFileSync(file, v1({ hits: 10n, gen: 100n }));
    const out = await frames(file, 4, (n) => {
      if (n === 1) fs.rmSync(file);
      if (n === 2) fs.writeFileSync(file, v1({ hits: 50n, gen: 200n }));
      if (n === 3) fs.writeFileSync(file, v1({ hits: 60n, gen: 200n }));
    });
    expect(out[1]).toContain(`waiting for ${file}`);
    expect(hitsRow(out[2]!).value).toBe('50 count');
    expect(hitsRow(out[2]!).rate).toBe('');
    expect(hitsRow(out[3]!).rate).toMatch(/count\/s$/);
  });

  it('stops at once when aborted (Ctrl-C)', async () => {
    const file = path.join(scratch('abort-'), 'app');
    fs.writeFileSync(file, v1());
    const out = await frames(file, null, (n, _text, stop) => {
      if (n === 2) stop();
    });
    expect(out).toHaveLength(2);
  });
});

// ---- argument handling, in process -------------------------------------------------------

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo & { isTTY: boolean } = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { PCP_TMP_DIR: tmp },
    isTTY: false,
  };
  const code = await runWatch(args, io);
  return { code, stdout, stderr };
}

describe('pcp-agent watch arguments', () => {
  it.each([
    [
      ['app', '--interval', '50'],
      '--interval must be a whole number of milliseconds >= 100, got "50"',
    ],
    [
      ['app', '--interval', 'abc'],
      '--interval must be a whole number of milliseconds >= 100, got "abc"',
    ],
    [
      ['app', '--interval', '1e3'],
      '--interval must be a whole number of milliseconds >= 100, got "1e3"',
    ],
    [['app', '--count', '0'], '--count must be a whole number of frames >= 1, got "0"'],
    [['a', 'b'], 'watch takes at most one name, got 2'],
    [['app', '--bogus'], "Unknown option '--bogus'"],
    [['app', '--dir', ''], '--dir needs a directory'],
  ])('%j is a usage error with exit 2', async (args, message) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`pcp-agent: ${message}`);
    expect(r.stderr).toContain('Run "pcp-agent help" for usage.');
  });

  it('looks a name up in $PCP_TMP_DIR/mmv, names with dots included', async () => {
    const dir = path.join(tmp, 'mmv');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'app.worker2'), v1());
    const r = await run('app.worker2', '--count', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${path.join(dir, 'app.worker2')}  (PCP names mmv.app.worker2.*)`);
  });

  it('takes a path to a file instead of a name', async () => {
    const file = path.join(scratch('path-'), 'app');
    fs.writeFileSync(file, v1());
    const r = await run(file, '--count', '1', '--dir', '/nonexistent');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${file}  (PCP names mmv.app.*)`);
  });

  it('without a name, watches the only file whose process is alive', async () => {
    const dir = scratch('one-live-');
    fs.writeFileSync(path.join(dir, 'live'), v1());
    fs.writeFileSync(
      path.join(dir, 'gone'),
      buildV1({ pid: deadPid(), flags: Flag.PROCESS }).bytes,
    );
    const r = await run('--dir', dir, '--count', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${path.join(dir, 'live')}  (PCP names`);
  });

  it('without a name and no live file, lists the files and exits 2', async () => {
    const dir = scratch('none-live-');
    const dead = deadPid();
    fs.writeFileSync(path.join(dir, 'gone'), buildV1({ pid: dead, flags: Flag.PROCESS }).bytes);
    const r = await run('--dir', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no file in ${dir} belongs to a live process:\n`);
    expect(r.stderr).toContain(`  gone  (pid ${dead}, not running)\n`);
  });

  it('without a name, exits 1 when the directory cannot be read', async () => {
    const r = await run('--dir', path.join(tmp, 'nosuch'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pcp-agent: PCP_AGENT_ERR_IO: cannot read directory .*: ENOENT\n$/);
  });

  it('--filter shows only metrics starting with the prefix', async () => {
    const file = path.join(scratch('filter-'), 'app');
    fs.writeFileSync(file, v1());
    const r = await run(file, '--count', '1', '--filter', 'st');
    expect(r.stdout).toContain('1 of 4 values match "st"');
    expect(r.stdout).toContain('"running"');
    expect(r.stdout).not.toMatch(/^hits/m);
  });
});

// ---- the compiled binary -----------------------------------------------------------------

describe('the compiled pcp-agent watch', () => {
  // A private build (see support/build.ts).
  const out = path.join(tmp, 'build');
  const main = path.join(out, 'src', 'cli', 'main.js');
  const dir = scratch('e2e-');
  const dead = deadPid();
  let tscOutput = '';
  let registry: Registry;
  let requests: MetricVector<Counter>;

  beforeAll(() => {
    tscOutput = privateBuild(out);
    registry = new Registry({ name: 'app.worker1', dir, selfMetrics: false, flushInterval: 0 });
    requests = registry.counter('http.requests', { indom: ['GET', 'POST'] });
    const depth = registry.gauge('queue.depth', { indom: ['fast', 'slow'] });
    requests.instance('GET').add(40);
    depth.instance('fast').set(3);
    registry.start();
    fs.writeFileSync(path.join(dir, 'gone'), buildV1({ pid: dead, flags: Flag.PROCESS }).bytes);
  }, 120_000);
  afterAll(() => registry.stop());

  const node = (...args: string[]) =>
    spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

  /** Spawns the CLI; `onOutput` sees all stdout so far each time more arrives. */
  function spawnWatch(
    args: readonly string[],
    onOutput: (stdout: string, child: ChildProcess) => void,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [main, 'watch', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      onOutput(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    return new Promise((resolve) => {
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** Frames start with an ISO timestamp after a blank line. */
  const split = (stdout: string): string[] => stdout.split(/\n\n(?=\d{4}-\d\d-\d\dT)/);
  const requestsRow = (frame: string, instance: string) =>
    cell(frame.split('\n'), 'http.requests', instance);

  it('shows values, then rates, for --count frames and exits 0', async () => {
    expect(fs.existsSync(main), `tsc did not emit ${main}:\n${tscOutput}`).toBe(true);
    let incremented = false;
    const r = await spawnWatch(
      ['app.worker1', '--dir', dir, '--count', '2', '--interval', '200'],
      (stdout) => {
        if (!incremented && stdout.includes('queue.depth')) {
          incremented = true;
          requests.instance('GET').add(10);
          registry.flush();
        }
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const frames = split(r.stdout);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toContain(`${path.join(dir, 'app.worker1')}  (PCP names mmv.app.worker1.*)`);
    expect(frames[0]).toContain(`pid ${process.pid} alive, version 1, 2 metrics, 4 instances`);
    expect(requestsRow(frames[0]!, 'GET')).toMatchObject({ value: '40 count', rate: '' });
    expect(cell(frames[0]!.split('\n'), 'queue.depth', 'fast').value).toBe('3');
    // The second read comes after the increment unless this process was slower than 200 ms.
    expect(['40 count', '50 count']).toContain(requestsRow(frames[1]!, 'GET').value);
    expect(requestsRow(frames[1]!, 'GET').rate).toMatch(/^\d+(\.\d+)? count\/s$/);
    expect(requestsRow(frames[1]!, 'POST').rate).toBe('0 count/s');
  });

  it('shows the rate of an increase on the next frame, and exits 0 on Ctrl-C', async () => {
    let target: string | null = null;
    let rate = '';
    const r = await spawnWatch(
      ['app.worker1', '--dir', dir, '--interval', '100'],
      (stdout, child) => {
        const frames = split(stdout);
        if (target === null && stdout.includes('queue.depth')) {
          const now = Number.parseInt(requestsRow(frames[0]!, 'GET').value, 10);
          requests.instance('GET').add(25);
          registry.flush();
          target = `${now + 25} count`;
        }
        const hit = frames.find(
          (f) => f.includes('queue.depth') && requestsRow(f, 'GET').value === target,
        );
        if (hit && rate === '') {
          rate = requestsRow(hit, 'GET').rate;
          child.kill('SIGINT');
        }
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(rate).toMatch(/^\d+(\.\d+)? count\/s$/);
    expect(Number.parseFloat(rate)).toBeGreaterThan(0);
  });

  it('reports a PROCESS file whose pid is dead as gone', () => {
    const r = node('watch', 'gone', '--dir', dir, '--count', '1');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`process ${dead} is gone`);
  });

  it('exits 2 naming the option and value for a bad --interval', () => {
    const r = node('watch', 'app.worker1', '--dir', dir, '--interval', '10');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      '--interval must be a whole number of milliseconds >= 100, got "10"',
    );
  });

  it('without a name and two live files, lists both and exits 2', () => {
    const two = new Registry({ name: 'app.worker2', dir, selfMetrics: false, flushInterval: 0 });
    two.counter('http.requests');
    two.start();
    try {
      const r = node('watch', '--dir', dir);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`2 files in ${dir} belong to live processes:`);
      expect(r.stderr).toContain(`\n  app.worker1  (pid ${process.pid})`);
      expect(r.stderr).toContain(`\n  app.worker2  (pid ${process.pid})`);
      expect(r.stderr).not.toContain('gone');
    } finally {
      two.stop();
    }
  });

  it('lists watch in the help', () => {
    const r = node('help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('  watch [name] [options]');
    expect(r.stdout.indexOf('  watch ')).toBeLessThan(r.stdout.indexOf('  help '));
  });
});
