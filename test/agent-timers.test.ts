// The timers instrumentation, in child processes: patching the test runner's own timers could
// break it. Each scenario (test/fixtures/timers/scenarios.cjs) prints what it saw as JSON.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateBuild } from './support/build';

const ROOT = path.resolve(__dirname, '..');
const SCENARIOS = path.join(ROOT, 'test', 'fixtures', 'timers', 'scenarios.cjs');

type Values = Record<string, Record<string, number>>;
interface Result {
  observed: unknown[][];
  snapshots: Values[];
  metrics: Values;
  faults: { code: string; what: string; err: string }[];
  exitMs: number;
}

// A private build (see support/build.ts).
const build = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-timers-build-'));
const runs = new Map<string, Promise<{ ok: Result } | { err: Error }>>();

function run(scenario: string, mode: 'on' | 'off' = 'on', env: Record<string, string> = {}) {
  const key = `${scenario} ${mode} ${JSON.stringify(env)}`;
  let p = runs.get(key);
  if (!p) {
    p = spawnScenario(scenario, mode, env).then(
      (ok) => ({ ok }),
      (err: Error) => ({ err }),
    );
    runs.set(key, p);
  }
  return p.then((r) => {
    if ('err' in r) throw r.err;
    return r.ok;
  });
}

function spawnScenario(scenario: string, mode: string, env: Record<string, string>) {
  return new Promise<Result>((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [SCENARIOS, scenario, mode], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        NODE_PATH: path.join(ROOT, 'node_modules'),
        PCP_TIMERS_BUILD: build,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`${scenario} ${mode}: exit ${code ?? signal}\n${out}\n${err}`));
        return;
      }
      resolve({ ...(JSON.parse(line) as Omit<Result, 'exitMs'>), exitMs: Date.now() - t0 });
    });
  });
}

/** One kind's value of every metric: `{ created: 3, fired: 2, ... }`. */
function kind(values: Values, k: 'timeout' | 'interval' | 'immediate') {
  const out: Record<string, number> = {};
  for (const [name, byInstance] of Object.entries(values)) {
    out[name.slice('timers.'.length)] = byInstance[k];
  }
  return out;
}

beforeAll(() => {
  const output = privateBuild(build);
  const main = path.join(build, 'agent', 'instrument', 'timers.js');
  if (!fs.existsSync(main)) throw new Error(`tsc did not emit ${main}:\n${output}`);
  // Every scenario at once: each test then waits only for its own.
  for (const s of ['timeouts', 'intervals', 'immediates', 'promises', 'behaviour', 'throws']) {
    run(s, 'on');
    run(s, 'off');
  }
  for (const s of ['timing', 'refresh', 'unref', 'disable']) run(s, 'on');
  run('context', 'on', { CONTEXT: '1' });
  run('context', 'on', { CONTEXT: '0' });
}, 120_000);

afterAll(() => {
  fs.rmSync(build, { recursive: true, force: true });
});

describe('timers metrics', () => {
  it('declare created, fired, cleared, active and callback time over timers.kinds', async () => {
    const { metrics } = await run('timeouts');
    expect(Object.keys(metrics).sort()).toEqual([
      'timers.active',
      'timers.callback.max',
      'timers.callback.time',
      'timers.cleared',
      'timers.created',
      'timers.fired',
    ]);
    for (const byInstance of Object.values(metrics)) {
      expect(Object.keys(byInstance).sort()).toEqual(['immediate', 'interval', 'timeout']);
    }
  });

  it('count timeouts fired and cleared by object, by id, by close() and by dispose', async () => {
    const { metrics, snapshots, faults } = await run('timeouts');
    // 5 fire; 3 cleared by object, 1 by number, 1 by string, close(), dispose, clearInterval;
    // one clears itself from its own callback: it fired, it was not cleared.
    expect(kind(snapshots[0], 'timeout')).toMatchObject({ created: 14, cleared: 8, active: 6 });
    expect(kind(metrics, 'timeout')).toMatchObject({
      created: 14,
      fired: 6,
      cleared: 8,
      active: 0,
    });
    expect(kind(metrics, 'interval')).toMatchObject({ created: 0, fired: 0 });
    expect(faults).toEqual([]);
  });

  it('count each firing of an interval, and one clear however it is cleared', async () => {
    const { metrics, snapshots, observed } = await run('intervals');
    expect(observed).toContainEqual(['ticks', 4, 2]);
    expect(kind(snapshots[0], 'interval')).toMatchObject({ created: 3, cleared: 1, active: 2 });
    expect(kind(metrics, 'interval')).toMatchObject({
      created: 3,
      fired: 6,
      cleared: 3,
      active: 0,
    });
  });

  it('count immediates run and cleared (clearTimeout does not clear one)', async () => {
    const { metrics, snapshots } = await run('immediates');
    expect(kind(snapshots[0], 'immediate')).toMatchObject({ created: 6, cleared: 2, active: 4 });
    expect(kind(metrics, 'immediate')).toMatchObject({
      created: 7,
      fired: 5,
      cleared: 2,
      active: 0,
    });
  });

  it('count timers/promises and util.promisify timers as their kinds; rejected calls as none', async () => {
    const { metrics, faults } = await run('promises');
    // setTimeout: 'a', promisify 'c', aborted 'x', unref'd 'u'.
    expect(kind(metrics, 'timeout')).toMatchObject({
      created: 4,
      fired: 3,
      cleared: 1,
      active: 0,
    });
    // setImmediate: 'b', promisify 'd'.
    expect(kind(metrics, 'immediate')).toMatchObject({ created: 2, fired: 2, active: 0 });
    // setInterval: three values then break, and one aborted while waiting.
    expect(kind(metrics, 'interval')).toMatchObject({
      created: 2,
      fired: 3,
      cleared: 2,
      active: 0,
    });
    expect(faults).toEqual([]);
  });

  it('keep counting right when callbacks throw', async () => {
    const { metrics } = await run('throws');
    expect(kind(metrics, 'timeout')).toMatchObject({ created: 2, fired: 2, active: 0 });
    // Node itself calls timers.setImmediate(noop) after each handled uncaught exception.
    expect(kind(metrics, 'immediate')).toMatchObject({ created: 1 + 3, fired: 4, active: 0 });
    expect(kind(metrics, 'interval')).toMatchObject({
      created: 1,
      fired: 3,
      cleared: 1,
      active: 0,
    });
  });

  it('count a timeout re-armed by refresh() after it fired as created again', async () => {
    const { metrics, snapshots, observed } = await run('refresh');
    expect(observed).toContainEqual(['fires', 3]);
    expect(kind(snapshots[0], 'timeout')).toMatchObject({ created: 2, fired: 2, active: 0 });
    // 3 schedules of t, u (refreshed while pending), v (cleared, then refresh does nothing).
    expect(kind(metrics, 'timeout')).toMatchObject({
      created: 5,
      fired: 4,
      cleared: 1,
      active: 0,
    });
  });

  it('sum the time inside callbacks, and publish the longest one per flush', async () => {
    const { snapshots } = await run('timing');
    const [first, second, third] = snapshots;
    const time = (v: Values, k: string) => v['timers.callback.time'][k];
    const max = (v: Values, k: string) => v['timers.callback.max'][k];
    expect(time(first, 'timeout')).toBeGreaterThanOrEqual(20);
    expect(time(first, 'immediate')).toBeGreaterThanOrEqual(30);
    expect(time(first, 'interval')).toBeGreaterThanOrEqual(20);
    expect(max(first, 'timeout')).toBeGreaterThanOrEqual(20);
    expect(max(first, 'immediate')).toBeGreaterThanOrEqual(30);
    expect(max(first, 'interval')).toBeGreaterThanOrEqual(10);
    expect(max(first, 'interval')).toBeLessThanOrEqual(time(first, 'interval'));
    // A throwing callback of 15 ms; no interval since the first flush.
    expect(time(second, 'timeout') - time(first, 'timeout')).toBeGreaterThanOrEqual(15);
    expect(max(second, 'timeout')).toBeGreaterThanOrEqual(15);
    expect(max(second, 'interval')).toBe(0);
    // Nothing ran between the last two flushes.
    expect(third['timers.callback.max']).toEqual({ timeout: 0, interval: 0, immediate: 0 });
    expect(third['timers.callback.time']).toEqual(second['timers.callback.time']);
  });

  it('count unref()ed timers as active, and do not keep the app alive', async () => {
    const { snapshots, observed, exitMs } = await run('unref');
    expect(observed).toEqual([['immediate ran']]);
    expect(kind(snapshots[0], 'timeout')).toMatchObject({ created: 1, active: 1 });
    expect(kind(snapshots[0], 'interval')).toMatchObject({ created: 1, active: 1 });
    expect(exitMs).toBeLessThan(20_000); // the timers were for 60 s
  });
});

describe('request context', () => {
  it('adds time in a timer callback to the request that created the timer', async () => {
    const { observed } = await run('context', 'on', { CONTEXT: '1' });
    const [, s1, s2, s3] = observed.find((o) => o[0] === 'timerTime') as number[];
    expect(s1).toBeGreaterThanOrEqual(20); // a 20 ms timeout
    expect(s2).toBeGreaterThanOrEqual(15); // a 10 ms immediate and the 5 ms timeout it created
    expect(s3).toBe(0);
  });

  it('attributes nothing when context is off', async () => {
    const { observed, metrics } = await run('context', 'on', { CONTEXT: '0' });
    expect(observed).toContainEqual(['timerTime', 0, 0, 0]);
    expect(metrics['timers.callback.time'].timeout).toBeGreaterThanOrEqual(25);
  });
});

describe('patched timers behave as the originals', () => {
  it.each(['timeouts', 'intervals', 'immediates', 'promises', 'behaviour', 'throws'])(
    '%s: what the app sees is identical with and without the agent',
    async (scenario) => {
      const [on, off] = await Promise.all([run(scenario, 'on'), run(scenario, 'off')]);
      expect(on.observed.length).toBeGreaterThan(0);
      expect(on.observed).toEqual(off.observed);
    },
  );

  it('this, arguments, return values, ref/unref/hasRef/refresh, names and promisify', async () => {
    const { observed } = await run('behaviour');
    expect(observed).toContainEqual(['this', true, ['a', null, 3, 4], 4]);
    expect(observed).toContainEqual(['interval this', true, 0]);
    expect(observed).toContainEqual(['immediate this', true, 'x', 1]);
    expect(observed).toContainEqual(['hasRef', true, true, false, true, true]);
    expect(observed).toContainEqual(['refresh', true]);
    expect(observed).toContainEqual(['timeout', 'Timeout', 'function', true]);
    expect(observed).toContainEqual(['setTimeout', 'setTimeout', 5, true]);
    expect(observed).toContainEqual(['custom', true]);
    expect(observed).toContainEqual(['esm', true, true]);
  });

  it('a throwing callback reaches uncaughtException with the same error', async () => {
    const { observed } = await run('throws');
    expect(observed.filter((o) => o[0] === 'uncaught')).toEqual([
      ['uncaught', 0, 'uncaughtException'],
      ['uncaught', 1, 'uncaughtException'],
      ['uncaught', 2, 'uncaughtException'],
    ]);
    expect(observed).toContainEqual(['later timers still run']);
  });
});

describe('enable and disable', () => {
  it('disable() restores every original and counts nothing more', async () => {
    const { observed, snapshots } = await run('disable');
    const labels = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval'];
    const restored = observed.filter((o) =>
      [...labels, 'clearImmediate', 'promises', 'prototypes', 'esm'].includes(o[0] as string),
    );
    expect(restored).toHaveLength(9);
    for (const o of restored) expect(o.slice(1), String(o[0])).toEqual(o.slice(1).map(() => true));
    expect(observed).toContainEqual(['fired after disable', true, 'arg']);
    expect(kind(snapshots[1], 'timeout')).toEqual(kind(snapshots[0], 'timeout'));
    expect(kind(snapshots[1], 'immediate')).toMatchObject({ created: 0 });
  });

  it('enables again into the same metrics; a second instrumentation does not patch twice', async () => {
    const { observed, snapshots, faults } = await run('disable');
    expect(kind(snapshots[2], 'immediate')).toMatchObject({ created: 1, fired: 1, active: 0 });
    expect(observed).toContainEqual(['second', true]);
    expect(observed).toContainEqual(['second disable keeps the first', true]);
    expect(faults.map((f) => f.code)).toEqual(['PCP_AGENT_WARN_TIMERS']);
  });

  it("leaves another library's later wrapper in place on disable", async () => {
    const { observed } = await run('disable');
    expect(observed).toContainEqual(['theirs kept', true, true]);
  });
});
