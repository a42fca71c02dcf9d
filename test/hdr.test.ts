// The JavaScript HDR histogram behind Histogram must answer exactly as Node's native one
// (perf_hooks.createHistogram), which it replaces only to avoid a native call per record.

import { createHistogram } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HdrHistogram } from '../src/registry/kinds/hdr';

const PERCENTILES = [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

function compare(values: number[]): void {
  const ours = new HdrHistogram();
  const native = createHistogram();
  for (const v of values) {
    ours.record(v);
    native.record(v);
  }
  expect(ours.count).toBe(native.count);
  expect(ours.min).toBe(native.min);
  expect(ours.max).toBe(native.max);
  for (const p of PERCENTILES) expect(ours.percentile(p), `p${p}`).toBe(native.percentile(p));
}

describe('HdrHistogram', () => {
  it('answers count, min, max and percentiles exactly as the native histogram', () => {
    const value = fc.oneof(
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 2 ** 31 + 5000 }),
      fc.integer({ min: 2 ** 31 - 5000, max: 2 ** 33 }),
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    );
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 300 }), compare), {
      numRuns: 200,
    });
  });

  it('agrees at every bucket boundary', () => {
    const values: number[] = [];
    for (let b = 0; b < 53; b++) {
      for (const d of [-1, 0, 1]) {
        const v = 2 ** b + d;
        if (v >= 1 && v <= Number.MAX_SAFE_INTEGER) values.push(v);
      }
    }
    compare(values);
  });

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
});
