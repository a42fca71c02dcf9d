// The JavaScript HDR histogram behind Histogram must answer exactly as Node's native one
// (perf_hooks.createHistogram), which it replaces only to avoid a native call per record.

import { tmpdir } from 'node:os';
import { createHistogram } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Registry } from '../src/index';
import { HdrHistogram } from '../src/registry/kinds/hdr';

const PERCENTILES = [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];
const FIGURES = [1, 2, 3, 4, 5];
/** Counts the native histogram allocates for 3 figures: 44 buckets of 1024 half sub-buckets. */
const NATIVE_COUNTS_3 = 44 * 1024;

function compare(values: number[], figures = 3): void {
  const ours = new HdrHistogram(figures);
  const native = createHistogram({ figures });
  for (const v of values) {
    ours.record(v);
    native.record(v);
  }
  expect(ours.count).toBe(native.count);
  expect(ours.min).toBe(native.min);
  expect(ours.max).toBe(native.max);
  for (const p of PERCENTILES) expect(ours.percentile(p), `p${p}`).toBe(native.percentile(p));
  // All of them in one pass, asked in reverse order, as the flush asks for a window's.
  const reversed = [...PERCENTILES].reverse();
  const out = new Float64Array(reversed.length + 1);
  ours.percentilesInto(reversed, out, 1, 1);
  expect([...out.subarray(1)]).toEqual(reversed.map((p) => native.percentile(p)));
}

/** Values either side of every bucket's edges and of sub-bucket edges, for some figures. */
function boundaries(figures: number): number[] {
  const halfMagnitude = Math.ceil(Math.log2(2 * 10 ** figures)) - 1;
  const half = 2 ** halfMagnitude;
  const values = new Set<number>();
  for (let b = 0; b < 53; b++) {
    for (const d of [-1, 0, 1]) values.add(2 ** b + d);
    // Bucket b holds sub-buckets half..2*half-1 of width 2^b (bucket 0 also 0..half-1).
    const unit = 2 ** b;
    for (const sub of [half - 1, half, half + 1, 2 * half - 1]) {
      for (const d of [-1, 0, unit - 1, unit]) values.add(sub * unit + d);
    }
  }
  return [...values].filter((v) => v >= 1 && v <= Number.MAX_SAFE_INTEGER);
}

const anyValue = fc.oneof(
  fc.integer({ min: 1, max: 5000 }),
  fc.integer({ min: 1, max: 2 ** 31 + 5000 }),
  fc.integer({ min: 2 ** 31 - 5000, max: 2 ** 33 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);

describe('HdrHistogram', () => {
  it('answers count, min, max and percentiles exactly as the native histogram', () => {
    fc.assert(
      fc.property(fc.array(anyValue, { minLength: 1, maxLength: 300 }), (values) =>
        compare(values),
      ),
      { numRuns: 200 },
    );
  });

  it('agrees at every bucket boundary', () => {
    compare(boundaries(3));
  });

  for (const figures of FIGURES) {
    it(`answers as createHistogram({ figures: ${figures} }) on generated values`, () => {
      // 4 and 5 figures scan millions of counts per percentile: fewer runs keep it quick.
      const numRuns = figures >= 4 ? 15 : 60;
      fc.assert(
        fc.property(fc.array(anyValue, { minLength: 1, maxLength: 200 }), (values) =>
          compare(values, figures),
        ),
        { numRuns },
      );
    });

    it(`answers as createHistogram({ figures: ${figures} }) at bucket boundaries`, () => {
      compare(boundaries(figures), figures);
    });

    it(`answers as createHistogram({ figures: ${figures} }) on small values`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 300 }),
          (values) => compare(values, figures),
        ),
        { numRuns: 40 },
      );
    });
  }

  it('starts empty again after reset, as the native one does', () => {
    const ours = new HdrHistogram();
    const native = createHistogram();
    for (const v of [5, 500, 50_000]) {
      ours.record(v);
      native.record(v);
    }
    ours.reset();
    native.reset();
    expect([ours.count, ours.min, ours.max, ours.percentile(50)]).toEqual([
      native.count,
      native.min,
      native.max,
      native.percentile(50),
    ]);
    ours.record(7);
    native.record(7);
    expect(ours.percentile(99)).toBe(native.percentile(99));
  });

  it('resets and counts again after its counts have grown', () => {
    for (const figures of FIGURES) {
      const ours = new HdrHistogram(figures);
      const native = createHistogram({ figures });
      for (const v of [3, 2 ** 40 + 12345, 70_000]) {
        ours.record(v);
        native.record(v);
      }
      ours.reset();
      native.reset();
      expect(ours.count).toBe(0);
      expect(ours.min).toBe(native.min);
      expect(ours.max).toBe(native.max);
      for (const v of [9, 123_456, 2 ** 20]) {
        ours.record(v);
        native.record(v);
      }
      expect(ours.min).toBe(native.min);
      expect(ours.max).toBe(native.max);
      for (const p of PERCENTILES) expect(ours.percentile(p), `p${p}`).toBe(native.percentile(p));
    }
  });

  it('allocates a small part of the native counts until large values are recorded', () => {
    const fresh = new HdrHistogram();
    expect(fresh.countsLength).toBeLessThanOrEqual(NATIVE_COUNTS_3 / 16);
    // Latencies up to a second at 1 µs resolution: the counts cover only buckets up to 2^20.
    for (let v = 1; v <= 1_000_000; v *= 3) fresh.record(v);
    expect(fresh.countsLength).toBeLessThan(NATIVE_COUNTS_3 / 3);
    fresh.record(Number.MAX_SAFE_INTEGER);
    expect(fresh.countsLength).toBe(NATIVE_COUNTS_3);
  });

  it('starts small whatever the significant figures', () => {
    for (const figures of FIGURES) {
      expect(new HdrHistogram(figures).countsLength).toBeLessThanOrEqual(2048);
    }
  });

  it('rejects significant figures outside 1-5, naming the value', () => {
    for (const bad of [0, 6, 2.5, Number.NaN]) {
      expect(() => new HdrHistogram(bad)).toThrow(/significantFigures .* got/);
    }
  });
});

describe('Histogram significantFigures', () => {
  const registry = () => new Registry({ name: 'hdr', dir: tmpdir(), flushInterval: 0 });

  it('is validated as an integer from 1 to 5, with the histogram and value named', () => {
    const r = registry();
    for (const bad of [0, 6, 1.5, '3']) {
      expect(() =>
        r.histogram('latency', { significantFigures: bad as unknown as number }),
      ).toThrow(
        new RegExp(
          `PCP_AGENT_ERR_OPTION: histogram "latency": significantFigures must be an integer from 1 to 5, got ${bad === '3' ? '"3"' : String(bad)}`,
        ),
      );
    }
  });

  it('accepts each of 1 to 5', () => {
    const r = registry();
    for (const figures of FIGURES) {
      const h = r.histogram(`latency${figures}`, { significantFigures: figures });
      h.record(12.5);
      expect(h.count).toBe(1);
    }
  });
});
