// Every kind of metric updates its own values and no other's: generated sets of counters,
// gauges, timers, histograms (with and without buckets), raw metrics of each type and string
// metrics, singletons and vectors, with instances added after the first updates (a
// re-layout), each value checked against a model: in the file as our reader reads it, and for
// a few sets as real PCP serves it. A write past a metric's own slots shows up as a
// neighbour's wrong value.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readMmvFile } from '../src/mmv/reader';
import { bucketName } from '../src/registry/kinds/histogram';
import { Registry } from '../src/registry/registry';
import { describePcp, fetchValues, makePcpTmpDir, removePcpTmpDir } from './support/pcp';

const RUNS = Number(process.env.PCP_AGENT_FUZZ_API_LOCAL_RUNS || 300);
/** Sets read through real PCP: a tenth of the API fuzz's real-PCP runs, at least 12. */
const PCP_SETS = Math.max(12, Math.floor(Number(process.env.PCP_AGENT_FUZZ_API_RUNS || 12) / 10));
const SEED = Number(process.env.PCP_AGENT_FUZZ_SEED || 0x5eed_f00d) | 0;
const BOUNDS = [1, 10, 100];

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-crosstalk-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

type Kind = 'counter' | 'gauge' | 'timer' | 'histogram' | 'raw' | 'string';
type RawType = 'i32' | 'u32' | 'i64' | 'u64' | 'float' | 'double';

const specArb = fc.record({
  kind: fc.constantFrom<Kind>('counter', 'gauge', 'timer', 'histogram', 'raw', 'string'),
  rawType: fc.constantFrom<RawType>('i32', 'u32', 'i64', 'u64', 'float', 'double'),
  /** How many of BOUNDS a histogram has: 0 is none. */
  buckets: fc.integer({ min: 0, max: BOUNDS.length }),
  /** Instances at declaration: 0 is a singleton. */
  instances: fc.integer({ min: 0, max: 3 }),
  /** An instance added after the first round of updates (vectors only). */
  late: fc.boolean(),
});

/** What one metric instance should read, by metric name suffix ('' for the metric itself). */
type Expected = Map<string, number | string>;

/** The values the k-th update of a histogram instance records: 1 to 3 of them. */
function observations(seed: number): number[] {
  return [0.5, 5, 50, 500].slice(0, (seed % 3) + 1).map((x) => x + (seed % 5));
}

const setsArb = fc.array(specArb, { minLength: 1, maxLength: 10 });

/** metric name → instance name ('' for a singleton) → what it should read. */
type Model = Map<string, Map<string, Expected>>;

/**
 * A registry `x` in `dir` with the metrics of `specs` (`m0`, `m1`, ...), updated twice with
 * instances added between, flushed; and what each value should read.
 */
function build(specs: fc.Infer<typeof setsArb>, dir: string): { r: Registry; model: Model } {
  const r = new Registry({ name: 'x', dir, flushInterval: 0, removeOnExit: false });
  const expected: Model = new Map();
  const handles = specs.map((s, i) => {
    const name = `m${i}`;
    const indom =
      s.instances > 0
        ? r.instanceDomain(`d${i}`, {
            instances: Array.from({ length: s.instances }, (_, k) => `i${k}`),
          })
        : undefined;
    const o = indom ? { indom } : {};
    switch (s.kind) {
      case 'counter':
        return r.counter(name, o);
      case 'gauge':
        return r.gauge(name, o);
      case 'timer':
        return r.timer(name, o);
      case 'raw':
        return r.metric(name, { ...o, type: s.rawType, semantics: 'instant' });
      case 'string':
        return r.string(name, o);
      default:
        return r.histogram(name, { ...o, window: 0, buckets: BOUNDS.slice(0, s.buckets) });
    }
  });
  r.start();
  const update = (round: number) => {
    specs.forEach((s, i) => {
      const h = handles[i] as unknown as {
        indom?: { instances: readonly { name: string }[] };
        instance(n: string): unknown;
      };
      const names = 'indom' in h && h.indom ? h.indom.instances.map((x) => x.name) : [''];
      const byInstance = expected.get(`m${i}`) ?? new Map<string, Expected>();
      expected.set(`m${i}`, byInstance);
      names.forEach((inst, k) => {
        const target = (inst === '' ? h : h.instance(inst)) as Record<string, unknown>;
        const e: Expected = byInstance.get(inst) ?? new Map();
        byInstance.set(inst, e);
        const seed = i * 31 + k * 7 + round;
        const sum = (key: string, n: number) => e.set(key, ((e.get(key) as number) ?? 0) + n);
        if (s.kind === 'counter') {
          (target as { add(n: number): void }).add(seed + 1);
          sum('', seed + 1);
        } else if (s.kind === 'raw') {
          // A value every type holds exactly: small, and a float's half.
          const x = s.rawType === 'float' || s.rawType === 'double' ? seed + 0.5 : seed + 3;
          (target as { set(n: number): void }).set(x);
          e.set('', x);
        } else if (s.kind === 'string') {
          (target as { set(v: string): void }).set(`s${seed}`);
          e.set('', `s${seed}`);
        } else if (s.kind === 'gauge') {
          (target as { set(n: number): void }).set(seed + 0.25);
          e.set('', seed + 0.25);
        } else if (s.kind === 'timer') {
          (target as { record(n: number): void }).record(seed + 2);
          sum('.count', 1);
          sum('.time', seed + 2);
        } else {
          for (const x of observations(seed)) {
            (target as { record(n: number): void }).record(x);
            sum('.count', 1);
            sum('.sum', x);
            const bounds = [...BOUNDS.slice(0, s.buckets), ...(s.buckets ? [Infinity] : [])];
            for (const b of bounds) {
              const key = `.bucket.${b === Infinity ? 'le_inf' : bucketName(b)}`;
              sum(key, x <= b ? 1 : 0);
            }
          }
        }
      });
    });
  };
  update(0);
  r.flush();
  // Late instances: the file is laid out again, and updated values move with it.
  specs.forEach((s, i) => {
    if (s.late && s.instances > 0) {
      (handles[i] as unknown as { instance(n: string): unknown }).instance('late');
    }
  });
  update(1);
  r.flush();
  return { r, model: expected };
}

/** Every value of the model, against `got` ('<metric>|<instance>' → value; '' for none). */
function check(model: Model, got: (key: string) => unknown): void {
  for (const [metric, byInstance] of model) {
    for (const [inst, e] of byInstance) {
      for (const [suffix, want] of e) {
        const key = `${metric}${suffix}|${inst}`;
        const v = got(key);
        expect([key, typeof v === 'string' ? v : Number(v)]).toEqual([key, want]);
      }
    }
  }
}

it('no update reaches another metric or instance', () => {
  fc.assert(
    fc.property(setsArb, (specs) => {
      const { r, model } = build(specs, dir);
      try {
        const file = readMmvFile(r.path);
        const got = new Map(file.values.map((v) => [`${v.metric}|${v.instance ?? ''}`, v.value]));
        check(model, (key) => got.get(key));
      } finally {
        r.stop();
      }
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
});

describePcp('through real PCP', () => {
  it('pminfo reads every value of generated sets as the model says', async () => {
    for (const specs of fc.sample(setsArb, { numRuns: PCP_SETS, seed: SEED })) {
      const tmp = makePcpTmpDir();
      const { r, model } = build(specs, `${tmp}/mmv`);
      try {
        const values = await fetchValues(tmp, ['mmv.x']);
        check(model, (key) => {
          const [metric, inst] = key.split('|');
          return values.get(`mmv.x.${metric}`)?.values.get(inst === '' ? null : inst);
        });
      } finally {
        r.stop();
        removePcpTmpDir(tmp);
      }
    }
  });
});
