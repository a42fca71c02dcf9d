// Every kind of metric updates its own values and no other's: generated sets of counters,
// gauges, timers and histograms (with and without buckets), singletons and vectors, instances
// added after the first updates (a re-layout), each value checked against a model in the file
// our reader reads. A write past a metric's own slots shows up as a neighbour's wrong value.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readMmvFile } from '../src/mmv/reader';
import { bucketName } from '../src/registry/kinds/histogram';
import { Registry } from '../src/registry/registry';

const RUNS = Number(process.env.PCP_AGENT_FUZZ_API_LOCAL_RUNS || 300);
const SEED = Number(process.env.PCP_AGENT_FUZZ_SEED || 0x5eed_f00d) | 0;
const BOUNDS = [1, 10, 100];

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-crosstalk-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

type Kind = 'counter' | 'gauge' | 'timer' | 'histogram';

const specArb = fc.record({
  kind: fc.constantFrom<Kind>('counter', 'gauge', 'timer', 'histogram'),
  /** How many of BOUNDS a histogram has: 0 is none. */
  buckets: fc.integer({ min: 0, max: BOUNDS.length }),
  /** Instances at declaration: 0 is a singleton. */
  instances: fc.integer({ min: 0, max: 3 }),
  /** An instance added after the first round of updates (vectors only). */
  late: fc.boolean(),
});

/** What one metric instance should read, by metric name suffix ('' for the metric itself). */
type Expected = Map<string, number>;

/** The values the k-th update of a histogram instance records: 1 to 3 of them. */
function observations(seed: number): number[] {
  return [0.5, 5, 50, 500].slice(0, (seed % 3) + 1).map((x) => x + (seed % 5));
}

it('no update reaches another metric or instance', () => {
  fc.assert(
    fc.property(fc.array(specArb, { minLength: 1, maxLength: 10 }), (specs) => {
      const r = new Registry({ name: 'x', dir, flushInterval: 0, removeOnExit: false });
      try {
        // metric index → instance name ('' for a singleton) → expected values
        const expected = new Map<string, Map<string, Expected>>();
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
              const e = byInstance.get(inst) ?? new Map<string, number>();
              byInstance.set(inst, e);
              const seed = i * 31 + k * 7 + round;
              if (s.kind === 'counter') {
                (target as { add(n: number): void }).add(seed + 1);
                e.set('', (e.get('') ?? 0) + seed + 1);
              } else if (s.kind === 'gauge') {
                (target as { set(n: number): void }).set(seed + 0.25);
                e.set('', seed + 0.25);
              } else if (s.kind === 'timer') {
                (target as { record(n: number): void }).record(seed + 2);
                e.set('.count', (e.get('.count') ?? 0) + 1);
                e.set('.time', (e.get('.time') ?? 0) + seed + 2);
              } else {
                for (const x of observations(seed)) {
                  (target as { record(n: number): void }).record(x);
                  e.set('.count', (e.get('.count') ?? 0) + 1);
                  e.set('.sum', (e.get('.sum') ?? 0) + x);
                  const bounds = [...BOUNDS.slice(0, s.buckets), ...(s.buckets ? [Infinity] : [])];
                  for (const b of bounds) {
                    const key = `.bucket.${b === Infinity ? 'le_inf' : bucketName(b)}`;
                    e.set(key, (e.get(key) ?? 0) + (x <= b ? 1 : 0));
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

        const file = readMmvFile(r.path);
        const got = new Map(file.values.map((v) => [`${v.metric}|${v.instance ?? ''}`, v.value]));
        for (const [metric, byInstance] of expected) {
          for (const [inst, e] of byInstance) {
            for (const [suffix, want] of e) {
              const key = `${metric}${suffix}|${inst}`;
              expect([key, Number(got.get(key))]).toEqual([key, want]);
            }
          }
        }
      } finally {
        r.stop();
      }
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
});
