// PCP units: the packed word matches PCP's bitfields, each field on its own, and values out
// of range are refused with the field and value named.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUnits, encodeUnits, formatUnits, makeUnits, Units } from '../src/mmv/units';

describe('units', () => {
  it('packs MiB per second as 0x1F023000 (checked against PCP)', () => {
    expect(encodeUnits(Units.per(Units.space('MiB'), 'sec'))).toBe(0x1f023000);
  });

  it('packs count as 0x00100000 and milliseconds as 0x01002000', () => {
    expect(encodeUnits(Units.count())).toBe(0x00100000);
    expect(encodeUnits(Units.time('msec'))).toBe(0x01002000);
  });

  it('encodes dimension 2 as 2, not 3 (the speed bug)', () => {
    const u = makeUnits({ dimSpace: 2 });
    expect(encodeUnits(u) >>> 28).toBe(2);
  });

  it('encodes negative dimensions and count scales as signed nibbles', () => {
    const u = makeUnits({ dimCount: -1, scaleCount: -3, dimTime: 1, scaleTime: 3 });
    expect(encodeUnits(u).toString(16)).toBe('1f03d00');
    expect(decodeUnits(encodeUnits(u))).toEqual({ ...u });
  });

  it('round-trips every legal combination', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -8, max: 7 }),
        fc.integer({ min: -8, max: 7 }),
        fc.integer({ min: -8, max: 7 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: -8, max: 7 }),
        (dimSpace, dimTime, dimCount, s, t, c) => {
          const u = makeUnits({
            dimSpace,
            dimTime,
            dimCount,
            scaleSpace: dimSpace ? s : 0,
            scaleTime: dimTime ? t : 0,
            scaleCount: dimCount ? c : 0,
          });
          expect(decodeUnits(encodeUnits(u))).toEqual({ ...u });
        },
      ),
    );
  });

  it('refuses a dimension out of the 4-bit range, naming field and value', () => {
    expect(() => makeUnits({ dimTime: 8 })).toThrow(
      /dimTime must be an integer from -8 to 7, got 8/,
    );
    expect(() => makeUnits({ dimSpace: 1, scaleSpace: 7 })).toThrow(/scaleSpace .* got 7/);
  });

  it('refuses a scale without its dimension', () => {
    expect(() => makeUnits({ scaleTime: 2 })).toThrow(/scaleTime must be 0 when dimTime is 0/);
  });

  it('refuses an unknown scale name', () => {
    // @ts-expect-error: testing a bad value from JavaScript
    expect(() => Units.time('ms')).toThrow(/time scale must be one of nsec, usec, msec/);
  });

  it('formats units the way pminfo prints them', () => {
    expect(formatUnits(Units.per(Units.space('MiB'), 'sec'))).toBe('Mbyte / sec');
    expect(formatUnits(Units.time('usec'))).toBe('microsec');
    expect(formatUnits(Units.count())).toBe('count');
    expect(formatUnits(Units.none)).toBe('');
    // pmUnitsStr's own spellings: scale 1 without an exponent, nothing above the line.
    expect(formatUnits(makeUnits({ dimCount: 1, scaleCount: 1 }))).toBe('count x 10');
    expect(formatUnits(makeUnits({ dimCount: 1, scaleCount: 3 }))).toBe('count x 10^3');
    expect(formatUnits(makeUnits({ dimTime: -1, scaleTime: 3 }))).toBe('/ sec');
    expect(formatUnits(makeUnits({ dimSpace: 2, dimTime: -2, scaleTime: 3 }))).toBe(
      'byte^2 / sec^2',
    );
  });
});
