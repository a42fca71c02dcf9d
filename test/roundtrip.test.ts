// Encode then decode over generated inputs: whatever metric set, instances, texts, labels and
// values go in, our reader gets exactly the same back, in every version.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EncodeInput, encodeMmv, writeValue } from '../src/mmv/encode';
import { TypeCode } from '../src/mmv/format';
import { readMmv } from '../src/mmv/reader';
import { decodeUnits, encodeUnits, makeUnits } from '../src/mmv/units';

const nameArb = fc.stringMatching(
  /^[A-Za-z][A-Za-z0-9_]{0,80}(\.[A-Za-z][A-Za-z0-9_]{0,20}){0,2}$/,
);
// Any UTF-8 text without NUL, at most 255 bytes.
const textArb = fc
  .string({ unit: 'grapheme', maxLength: 120 })
  .map((s) => s.replace(/\0/g, ''))
  .filter((s) => Buffer.byteLength(s) <= 255);
const instanceNameArb = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 90 })
  .map((s) => s.replace(/[\0\s]/g, '_'))
  .filter((s) => s.length > 0 && Buffer.byteLength(s) <= 255);
const unitsArb = fc
  .record({
    dimSpace: fc.integer({ min: -8, max: 7 }),
    dimTime: fc.integer({ min: -8, max: 7 }),
    dimCount: fc.integer({ min: -8, max: 7 }),
    scaleSpace: fc.integer({ min: 0, max: 6 }),
    scaleTime: fc.integer({ min: 0, max: 5 }),
    scaleCount: fc.integer({ min: -8, max: 7 }),
  })
  .map((u) =>
    makeUnits({
      ...u,
      scaleSpace: u.dimSpace ? u.scaleSpace : 0,
      scaleTime: u.dimTime ? u.scaleTime : 0,
      scaleCount: u.dimCount ? u.scaleCount : 0,
    }),
  );

const inputArb = fc
  .record({
    minVersion: fc.constantFrom(1 as const, 2 as const),
    flags: fc.integer({ min: 0, max: 7 }),
    cluster: fc.integer({ min: 1, max: 2047 }),
    indoms: fc.uniqueArray(
      fc.record({
        serial: fc.integer({ min: 1, max: 2047 }),
        shortHelp: fc.option(textArb, { nil: undefined }),
        longHelp: fc.option(textArb, { nil: undefined }),
        instances: fc.uniqueArray(instanceNameArb, { maxLength: 5 }),
      }),
      { maxLength: 3, selector: (d) => d.serial },
    ),
    metrics: fc.uniqueArray(
      fc.record({
        name: nameArb,
        type: fc.constantFrom(0, 1, 2, 3, 4, 5, 6),
        semantics: fc.constantFrom(1, 3, 4),
        units: unitsArb,
        indomPick: fc.nat(),
        shortHelp: fc.option(textArb, { nil: undefined }),
        longHelp: fc.option(textArb, { nil: undefined }),
      }),
      { maxLength: 8, selector: (m) => m.name },
    ),
    labels: fc.array(
      fc.record({
        flags: fc.constantFrom(8, 16, 4, 32),
        identity: fc.nat({ max: 2047 }),
        instance: fc.integer({ min: -1, max: 100 }),
        payload: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), fc.integer(), {
          maxKeys: 4,
        }),
      }),
      { maxLength: 3 },
    ),
  })
  .map((g): EncodeInput => {
    const indoms = g.indoms.map((d) => ({
      serial: d.serial,
      shortHelp: d.shortHelp || undefined,
      longHelp: d.longHelp || undefined,
      instances: d.instances.map((name, i) => ({ id: i * 7 + 1, name })),
    }));
    return {
      minVersion: g.minVersion,
      generation: 12345n,
      complete: true,
      flags: g.flags,
      pid: 4242,
      cluster: g.cluster,
      indoms,
      metrics: g.metrics.map((m, item) => ({
        name: m.name,
        item,
        type: m.type,
        semantics: m.semantics,
        units: encodeUnits(m.units),
        indom: indoms.length && m.indomPick % 2 ? indoms[m.indomPick % indoms.length].serial : null,
        shortHelp: m.shortHelp || undefined,
        longHelp: m.longHelp || undefined,
      })),
      labels: g.labels.map((l) => ({ ...l, payload: JSON.stringify(l.payload) })),
    };
  });

/** A value of the type that survives the round trip exactly. */
function valueFor(type: number, seed: number): number {
  switch (type) {
    case TypeCode.I32:
      return (seed | 0) - 1000;
    case TypeCode.U32:
      return seed >>> 0;
    case TypeCode.I64:
      return -seed * 1_000_003;
    case TypeCode.FLOAT:
      return Math.fround(seed / 8);
    default:
      return seed * 3 + 0.5 * (type === TypeCode.DOUBLE ? 1 : 0);
  }
}

describe('encode then decode', () => {
  it('gets back every metric, indom, instance, text, label and value', () => {
    fc.assert(
      fc.property(inputArb, fc.nat({ max: 2 ** 30 }), (input, seed) => {
        const encoded = encodeMmv(input);
        const view = new DataView(encoded.bytes.buffer);
        const expected: unknown[] = [];
        encoded.values.forEach((v, i) => {
          if (v.type === TypeCode.STRING) return;
          const x = valueFor(v.type, seed + i);
          writeValue(view, v.offset, v.type, x);
          expected.push(v.type === TypeCode.I64 || v.type === TypeCode.U64 ? BigInt(x) : x);
        });
        const f = readMmv(encoded.bytes);
        expect(f.version).toBe(encoded.version);
        expect(f.stable).toBe(true);
        expect(f.flags).toBe(input.flags);
        expect(f.cluster).toBe(input.cluster);
        expect(f.pid).toBe(input.flags & 2 ? 4242 : 0);
        expect(f.warnings).toEqual([]);
        expect(
          f.indoms.map((d) => [
            d.serial,
            d.shortHelp,
            d.longHelp,
            d.instances.map((i) => [i.id, i.name]),
          ]),
        ).toEqual(
          input.indoms.map((d) => [
            d.serial,
            d.shortHelp ?? null,
            d.longHelp ?? null,
            d.instances.map((i) => [i.id, i.name]),
          ]),
        );
        expect(
          f.metrics.map((m) => [
            m.name,
            m.item,
            m.type,
            m.semantics,
            m.unitsWord,
            m.indom,
            m.shortHelp,
            m.longHelp,
          ]),
        ).toEqual(
          input.metrics.map((m) => [
            m.name,
            m.item,
            m.type,
            m.semantics,
            m.units,
            m.indom,
            m.shortHelp ?? null,
            m.longHelp ?? null,
          ]),
        );
        for (const m of f.metrics) expect(m.units).toEqual(decodeUnits(m.unitsWord));
        expect(f.values.filter((v) => v.typeName !== 'string').map((v) => v.value)).toEqual(
          expected,
        );
        const labels = encoded.version === 3 ? (input.labels ?? []) : [];
        expect(f.labels.map((l) => [l.flags, l.identity, l.instance ?? -1, l.payload])).toEqual(
          labels.map((l) => [l.flags, l.identity, l.instance, l.payload]),
        );
      }),
      { numRuns: 300 },
    );
  });
});
