// The runtime instrumentation: what PCP reads for the event loop, GC, memory, CPU, active
// resources, file descriptors and versions, after known activity in this process.

import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runtimeInstrumentation } from '../agent/instrument/runtime';
import { delayFigures, EVENT_LOOP_RESOLUTION_MS } from '../agent/runtime/event-loop';
import { openDescriptors } from '../agent/runtime/fds';
import type { Instrumentation } from '../agent/types';
import { formatUnits, readMmvFile } from '../src/index';
import { makeTestAgent, type TestAgent } from './support/agent';

const R = EVENT_LOOP_RESOLUTION_MS;
const onLinux = process.platform === 'linux';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps the main thread running JavaScript for at least `ms` milliseconds. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

/** Calls V8's gc(): a full (major) collection each time. */
function forcedGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const num = (v: unknown): number => Number(v);

/** The soft limit on open files as /proc/self/limits shows it (Linux). */
function softFdLimit(): string | undefined {
  return /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
}

let agent: TestAgent;
let runtime: Instrumentation;

beforeEach(() => {
  // GC metrics are off by default (PCP_AGENT_GC); on here, and off in 'GC off by default'.
  agent = makeTestAgent({ gc: true });
  runtime = runtimeInstrumentation();
  runtime.enable(agent);
});

afterEach(() => {
  runtime.disable();
  agent.close();
});

describe('runtime metrics as PCP sees them', () => {
  it('declares each metric with its type, semantics and units', () => {
    agent.registry.flush();
    const file = readMmvFile(agent.registry.path);
    const shape = new Map(
      file.metrics.map((m) => [
        m.name.replace(/^testapp\./, ''),
        `${m.typeName} ${m.semanticsName} ${formatUnits(m.units)}`,
      ]),
    );
    const expected: Record<string, string> = {
      'runtime.eventloop.delay.min': 'double instant millisec',
      'runtime.eventloop.delay.max': 'double instant millisec',
      'runtime.eventloop.delay.mean': 'double instant millisec',
      'runtime.eventloop.delay.stddev': 'double instant millisec',
      'runtime.eventloop.delay.p50': 'double instant millisec',
      'runtime.eventloop.delay.p90': 'double instant millisec',
      'runtime.eventloop.delay.p99': 'double instant millisec',
      'runtime.eventloop.delay.count': 'u64 counter count',
      'runtime.eventloop.delay.sum': 'double counter millisec',
      'runtime.eventloop.utilization': 'double instant ',
      'runtime.gc.count': 'u64 counter count',
      'runtime.gc.time': 'double counter millisec',
      'runtime.memory.rss': 'u64 instant byte',
      'runtime.memory.external': 'u64 instant byte',
      'runtime.memory.array_buffers': 'u64 instant byte',
      'runtime.heap.used': 'u64 instant byte',
      'runtime.heap.total': 'u64 instant byte',
      'runtime.heap.space.size': 'u64 instant byte',
      'runtime.heap.space.used': 'u64 instant byte',
      'runtime.heap.space.available': 'u64 instant byte',
      'runtime.cpu.user': 'u64 counter microsec',
      'runtime.cpu.system': 'u64 counter microsec',
      'runtime.context_switches.voluntary': 'u64 counter count',
      'runtime.context_switches.involuntary': 'u64 counter count',
      'runtime.page_faults.minor': 'u64 counter count',
      'runtime.page_faults.major': 'u64 counter count',
      'runtime.resources.active': 'u32 instant count',
      'runtime.uptime': 'double instant sec',
      'runtime.start_time': 'double discrete sec',
      'runtime.node.version': 'string discrete ',
    };
    if (onLinux) {
      expected['runtime.fds.open'] = 'u32 instant count';
      if (softFdLimit() !== 'unlimited') expected['runtime.fds.limit'] = 'u64 discrete count';
    }
    for (const [name, want] of Object.entries(expected)) expect(shape.get(name), name).toBe(want);
    const runtimeNames = [...shape.keys()].filter((n) => n.startsWith('runtime.'));
    expect(runtimeNames.sort()).toEqual(Object.keys(expected).sort());
    expect(agent.faults).toEqual([]);
  });

  it('puts GC metrics over the kinds and heap-space metrics over the spaces', () => {
    const values = agent.values();
    for (const metric of ['runtime.gc.count', 'runtime.gc.time']) {
      expect([...(values.get(metric)?.keys() ?? [])].sort()).toEqual([
        'incremental',
        'major',
        'minor',
        'weakcb',
      ]);
    }
    const spaces = [...(values.get('runtime.heap.space.size')?.keys() ?? [])];
    expect(spaces).toEqual(expect.arrayContaining(['new_space', 'old_space', 'code_space']));
    for (const space of spaces) {
      expect(num(values.get('runtime.heap.space.used')?.get(space))).toBeLessThanOrEqual(
        num(values.get('runtime.heap.space.size')?.get(space)),
      );
    }
    expect(num(values.get('runtime.heap.space.used')?.get('old_space'))).toBeGreaterThan(0);
  });
});

describe('event loop', () => {
  it('shows a blocked event loop in the delay maximum, less at most the resolution', async () => {
    // A block of B ms reads between B - R and B: B is a few ticks, so B - R is well above 0.
    const B = 3 * R;
    agent.registry.flush(); // starts a fresh interval
    await sleep(3 * R); // the ticker is running
    busy(B);
    await sleep(3 * R); // the tick delayed by the block has fired
    const values = agent.values();
    const delay = (stat: string) => num(values.get(`runtime.eventloop.delay.${stat}`)?.get(''));
    expect(delay('max')).toBeGreaterThanOrEqual(B - R);
    expect(delay('p99')).toBeGreaterThanOrEqual(B - R);
    expect(delay('mean')).toBeGreaterThan(0);
    expect(delay('stddev')).toBeGreaterThan(0);
    expect(delay('min')).toBeGreaterThanOrEqual(0);
    expect(num(values.get('runtime.eventloop.delay.count')?.get(''))).toBeGreaterThanOrEqual(2);
    expect(num(values.get('runtime.eventloop.delay.sum')?.get(''))).toBeGreaterThanOrEqual(B - R);
  });

  it('sees a block right after a flush, where the restarted native histogram records nothing', async () => {
    // The restart at each flush makes the native histogram skip its first tick; the one-shot
    // timer due with that tick is what measures it.
    const B = 3 * R;
    const sum0 = num(agent.value('runtime.eventloop.delay.sum'));
    agent.registry.flush(); // restarts the histogram
    busy(B); // before its first tick
    await sleep(R / 2); // the delayed first tick and the one-shot have fired
    const values = agent.values();
    const delay = (stat: string) => num(values.get(`runtime.eventloop.delay.${stat}`)?.get(''));
    // On a busy machine more ticks may have come since, each about on time: the block is
    // in the maximum and the sum, whatever else.
    expect(delay('max')).toBeGreaterThanOrEqual(B - R);
    expect(delay('p99')).toBeGreaterThanOrEqual(B - R);
    expect(delay('sum') - sum0).toBeGreaterThanOrEqual(B - R);
  });

  it('ticks at eventLoopResolution when it is set: never more often, and says so in the help', async () => {
    const coarse = makeTestAgent({ eventLoopResolution: 60 }, 'coarse');
    const instrumentation = runtimeInstrumentation();
    try {
      instrumentation.enable(coarse);
      coarse.registry.flush();
      const t0 = performance.now();
      await sleep(400);
      const count = num(coarse.value('runtime.eventloop.delay.count'));
      const elapsed = performance.now() - t0;
      // The first tick only starts the clock; a tick never fires before its interval.
      expect(count).toBeGreaterThanOrEqual(1);
      expect(count).toBeLessThanOrEqual(Math.floor(elapsed / 60));
      const metric = readMmvFile(coarse.registry.path).metrics.find(
        (m) => m.name === 'runtime.eventloop.delay.count',
      );
      expect(`${metric?.shortHelp} ${metric?.longHelp}`).toContain('a 60 ms tick');
      expect(coarse.faults).toEqual([]);
    } finally {
      instrumentation.disable();
      coarse.close();
    }
  });

  it('reports utilization as a fraction from 0 to 1, above 0 after busy work', () => {
    agent.registry.flush();
    busy(30);
    const u = num(agent.value('runtime.eventloop.utilization'));
    expect(u).toBeGreaterThan(0);
    expect(u).toBeLessThanOrEqual(1);
  });
});

describe('delay figures: the native histogram plus the first tick after a restart', () => {
  /** A histogram of exact samples (ns), answering as Node's HDR histogram does. */
  function exact(samples: number[]) {
    const sorted = [...samples].sort((a, b) => a - b);
    const n = sorted.length;
    const mean = n ? sorted.reduce((a, b) => a + b, 0) / n : Number.NaN;
    const variance = n ? sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / n : 0;
    const rank = (q: number) => Math.max(1, Math.floor((q / 100) * n + 0.5));
    return {
      h: { count: n, mean, stddev: Math.sqrt(variance), min: sorted[0], max: sorted[n - 1] },
      at: (q: number) => sorted[rank(q) - 1],
    };
  }

  it('equal the figures of all the samples together, for any extra sample', () => {
    const resolution = 100;
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 500; trial++) {
      // Up to 64 samples are read back one by one, each clamped at 0 once the resolution is
      // off; more are taken from the histogram's figures, of the samples as they are.
      const readBack = trial % 5 !== 4;
      const n = readBack ? trial % 25 : 65 + (trial % 60);
      // Deltas of about the resolution (up to 1 ms early), some delayed by up to 300 ms.
      const early = readBack ? 1 : 0;
      const ns = Array.from({ length: n }, () =>
        Math.round(
          (resolution - early * random() + (random() < 0.2 ? random() * 300 : random())) * 1e6,
        ),
      );
      const extra = trial % 4 === 0 ? null : random() < 0.5 ? random() * 400 : 0;
      const native = exact(ns);
      const got = delayFigures(native.h, native.at, extra, resolution);
      const clamped = ns.map((x) => Math.max(x, resolution * 1e6));
      const all = [...clamped, ...(extra === null ? [] : [(extra + resolution) * 1e6])];
      const want = exact(all);
      const ms = (x: number) => x / 1e6 - resolution;
      expect(got.count).toBe(all.length);
      if (all.length === 0) continue;
      expect(got.mean).toBeCloseTo(ms(want.h.mean), 6);
      expect(got.stddev).toBeCloseTo(want.h.stddev / 1e6, 6);
      expect(got.min).toBeCloseTo(ms(want.h.min), 6);
      expect(got.max).toBeCloseTo(ms(want.h.max), 6);
      expect(got.percentiles.map((x) => x.toFixed(6))).toEqual(
        [50, 90, 99].map((p) => ms(want.at(p)).toFixed(6)),
      );
    }
  });
});

describe('garbage collection', () => {
  it('counts forced major collections and their time', async () => {
    const gc = forcedGc();
    const before = agent.values();
    const count0 = num(before.get('runtime.gc.count')?.get('major'));
    const time0 = num(before.get('runtime.gc.time')?.get('major'));
    const N = 3;
    for (let k = 0; k < N; k++) gc();
    // GC entries reach observers asynchronously.
    let count = count0;
    for (let k = 0; k < 100 && count < count0 + N; k++) {
      await sleep(10);
      count = num(agent.value('runtime.gc.count', 'major'));
    }
    expect(count).toBeGreaterThanOrEqual(count0 + N);
    expect(num(agent.value('runtime.gc.time', 'major'))).toBeGreaterThan(time0);
  });
});

describe('GC off by default', () => {
  it('declares no runtime.gc metric and observes no gc entries, the rest sampled as usual', async () => {
    const plain = makeTestAgent();
    const observe = vi.spyOn(PerformanceObserver.prototype, 'observe');
    const off = runtimeInstrumentation();
    try {
      off.enable(plain);
      expect(observe).not.toHaveBeenCalled();
      forcedGc()();
      await sleep(20);
      const names = [...plain.values().keys()];
      expect(names.filter((n) => n.startsWith('runtime.gc'))).toEqual([]);
      expect(names).toEqual(expect.arrayContaining(['runtime.heap.used', 'runtime.cpu.user']));
      expect(num(plain.value('runtime.heap.used'))).toBeGreaterThan(0);
      expect(plain.faults).toEqual([]);
    } finally {
      observe.mockRestore();
      off.disable();
      plain.close();
    }
  });
});

describe('memory and CPU', () => {
  it('reports heap used above 0 and at most heap total, and the process memory', () => {
    const values = agent.values();
    const v = (name: string) => num(values.get(name)?.get(''));
    expect(v('runtime.heap.used')).toBeGreaterThan(0);
    expect(v('runtime.heap.used')).toBeLessThanOrEqual(v('runtime.heap.total'));
    expect(v('runtime.memory.rss')).toBeGreaterThan(0);
    expect(v('runtime.memory.external')).toBeGreaterThan(0);
    expect(v('runtime.memory.array_buffers')).toBeLessThanOrEqual(v('runtime.memory.external'));
  });

  it('counts more user CPU time after busy work', () => {
    const before = num(agent.value('runtime.cpu.user'));
    busy(50);
    expect(num(agent.value('runtime.cpu.user'))).toBeGreaterThan(before);
  });

  it('reports context switches and page faults as the process totals', () => {
    const values = agent.values();
    const r = process.resourceUsage();
    const v = (name: string) => num(values.get(name)?.get(''));
    expect(v('runtime.page_faults.minor')).toBeGreaterThan(0);
    expect(v('runtime.page_faults.minor')).toBeLessThanOrEqual(r.minorPageFault);
    expect(v('runtime.context_switches.voluntary')).toBeLessThanOrEqual(r.voluntaryContextSwitches);
    expect(v('runtime.page_faults.major')).toBeGreaterThanOrEqual(0);
    expect(v('runtime.context_switches.involuntary')).toBeGreaterThanOrEqual(0);
  });
});

describe('active resources', () => {
  /** Active resources by type, as Node reports them now. */
  function tally(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of process.getActiveResourcesInfo()) out.set(t, (out.get(t) ?? 0) + 1);
    return out;
  }

  it('shows a setInterval as a Timeout, and one fewer once it is cleared', () => {
    const interval = setInterval(() => {}, 1000);
    const withIt = num(agent.value('runtime.resources.active', 'Timeout'));
    clearInterval(interval);
    const without = num(agent.value('runtime.resources.active', 'Timeout') ?? 0);
    expect(withIt).toBeGreaterThanOrEqual(1);
    expect(withIt - without).toBe(1);
  });

  it('publishes each type Node reports, and 0 for a type no longer active', () => {
    const interval = setInterval(() => {}, 1000);
    const immediate = setImmediate(() => {});
    const active = agent.values().get('runtime.resources.active');
    const now = tally();
    for (const [type, n] of now) expect(active?.get(type), type).toBe(n);
    clearInterval(interval);
    clearImmediate(immediate);
    const after = agent.values().get('runtime.resources.active');
    const later = tally();
    for (const type of now.keys()) expect(after?.get(type), type).toBe(later.get(type) ?? 0);
  });
});

describe.skipIf(!onLinux)('file descriptors (Linux)', () => {
  it('counts open descriptors, one more while a file is open', () => {
    // Another thread of this process could open or close one meanwhile: allow a few tries.
    let deltas: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = num(agent.value('runtime.fds.open'));
      const fd = openSync(__filename, 'r');
      const open = num(agent.value('runtime.fds.open'));
      closeSync(fd);
      const after = num(agent.value('runtime.fds.open'));
      expect(before).toBeGreaterThan(0);
      deltas = [open - before, after - before];
      if (deltas[0] === 1 && deltas[1] === 0) break;
    }
    expect(deltas).toEqual([1, 0]);
  });

  it('counts exactly the descriptors a listing of /proc/self/fd shows, less its own', () => {
    let pair: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const counted = num(agent.value('runtime.fds.open'));
      const listed = readdirSync('/proc/self/fd').length - 1;
      pair = [counted, listed];
      if (counted === listed) break;
    }
    expect(pair[0]).toBe(pair[1]);
  });

  it('lists the descriptors where the kernel reports no count as the size (before Linux 6.2)', () => {
    expect(openDescriptors(0, () => 17)).toBe(17);
    expect(
      openDescriptors(23, () => {
        throw new Error('listed although the size was the count');
      }),
    ).toBe(23);
  });

  it('reports the soft limit on open files', () => {
    const soft = softFdLimit();
    if (soft === 'unlimited') {
      expect(agent.value('runtime.fds.limit')).toBeUndefined();
    } else {
      expect(num(agent.value('runtime.fds.limit'))).toBe(Number(soft));
    }
  });
});

describe('process', () => {
  it('publishes the Node.js version', () => {
    expect(agent.value('runtime.node.version')).toBe(process.version);
  });

  it('reports uptime in seconds and a start time consistent with it', () => {
    const values = agent.values();
    const uptime = num(values.get('runtime.uptime')?.get(''));
    const start = num(values.get('runtime.start_time')?.get(''));
    expect(uptime).toBeGreaterThan(0);
    expect(uptime).toBeLessThanOrEqual(process.uptime());
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(Date.now() / 1000 - uptime + 1);
  });
});

describe('enable and disable', () => {
  it('keeps nothing alive: the ticker and observer are not active resources', () => {
    runtime.disable();
    const before = process.getActiveResourcesInfo().sort();
    runtime.enable(agent);
    expect(process.getActiveResourcesInfo().sort()).toEqual(before);
    runtime.disable();
    expect(process.getActiveResourcesInfo().sort()).toEqual(before);
    runtime.enable(agent); // for afterEach
  });

  it('stops sampling on disable: the ticker, the GC observer and the flush hook', async () => {
    const gc = forcedGc();
    agent.registry.flush();
    runtime.disable();
    const before = agent.values();
    const v = (m: Map<string, Map<string, unknown>>, name: string, inst = '') =>
      num(m.get(name)?.get(inst));
    gc();
    busy(20);
    await sleep(4 * R);
    const after = agent.values();
    expect(v(after, 'runtime.gc.count', 'major')).toBe(v(before, 'runtime.gc.count', 'major'));
    expect(v(after, 'runtime.uptime')).toBe(v(before, 'runtime.uptime'));
    expect(v(after, 'runtime.cpu.user')).toBe(v(before, 'runtime.cpu.user'));
    expect(v(after, 'runtime.eventloop.delay.count')).toBe(
      v(before, 'runtime.eventloop.delay.count'),
    );
    runtime.enable(agent); // for afterEach
  });

  it('samples into the same metrics when enabled again after disable', async () => {
    const gc = forcedGc();
    const count0 = num(agent.value('runtime.gc.count', 'major'));
    runtime.disable();
    runtime.enable(agent);
    gc();
    let count = count0;
    for (let k = 0; k < 100 && count <= count0; k++) {
      await sleep(10);
      count = num(agent.value('runtime.gc.count', 'major'));
    }
    expect(count).toBeGreaterThan(count0);
    expect(agent.faults).toEqual([]);
  });

  it('warns and does nothing when a second runtime instrumentation enables on the registry', () => {
    const second = runtimeInstrumentation();
    second.enable(agent);
    expect(agent.faults.map((f) => f.code)).toEqual(['PCP_AGENT_WARN_RUNTIME']);
    second.disable();
    // The first still samples.
    const before = num(agent.value('runtime.cpu.user'));
    busy(30);
    expect(num(agent.value('runtime.cpu.user'))).toBeGreaterThan(before);
  });

  it('keeps sampling the other collectors when one throws, and reports the fault', () => {
    const spy = vi.spyOn(process, 'memoryUsage').mockImplementation(() => {
      throw new Error('no memory for you');
    });
    try {
      const before = num(agent.value('runtime.uptime'));
      busy(5);
      const uptime = num(agent.value('runtime.uptime'));
      expect(uptime).toBeGreaterThan(before);
      expect(agent.faults.length).toBeGreaterThan(0);
      expect(agent.faults[0]).toMatchObject({ code: 'PCP_AGENT_WARN_RUNTIME' });
      expect(agent.faults[0].what).toContain('memory');
    } finally {
      spy.mockRestore();
    }
  });
});
