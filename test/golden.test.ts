// Golden bytes for every MMV record kind, worked out by hand from the mmv(5) table (not from
// our encoder): each expected record is written as little-endian hex with its offsets.

import { describe, expect, it } from 'vitest';
import { encodeMmv, writeValue } from '../src/mmv/encode';

/** Hex words (spaces ignored) padded with zeros to `size` bytes. */
function rec(hex: string, size: number): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  const out = new Uint8Array(size);
  for (let i = 0; i < clean.length / 2; i++)
    out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  if (clean.length / 2 > size) throw new Error(`record longer than ${size}`);
  return out;
}

/** Text as hex, for names and strings. */
function text(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function expectRecords(actual: Uint8Array, records: [string, number, Uint8Array][]): void {
  for (const [what, offset, bytes] of records) {
    expect(Buffer.from(actual.subarray(offset, offset + bytes.length)).toString('hex'), what).toBe(
      Buffer.from(bytes).toString('hex'),
    );
  }
  const whole = concat(records.map((r) => r[2]));
  expect(actual.length).toBe(whole.length);
  expect(Buffer.from(actual).equals(Buffer.from(whole))).toBe(true);
}

describe('golden bytes, version 1', () => {
  // One indom (serial 5, instance 7 "a", help "ih"); metric "m" item 3, u64 counter, count
  // units, over indom 5, help "h"; metric "s" item 4, string, discrete, singleton.
  // Layout: header 0, toc 40 (5 x 16), indoms 120, instances 152, metrics 232 (2 x 104),
  // values 440 (2 x 32), strings 504: value slot of "s" 504, "ih" 760, "h" 1016; end 1272.
  const file = encodeMmv({
    generation: 0x0000000100000002n,
    complete: true,
    flags: 2,
    pid: 1234,
    cluster: 321,
    indoms: [{ serial: 5, shortHelp: 'ih', instances: [{ id: 7, name: 'a' }] }],
    metrics: [
      { name: 'm', item: 3, type: 3, semantics: 1, units: 0x00100000, indom: 5, shortHelp: 'h' },
      { name: 's', item: 4, type: 6, semantics: 4, units: 0, indom: null },
    ],
  });

  it('is version 1', () => {
    expect(file.version).toBe(1);
  });

  it('writes header, toc, indom, v1 instance, v1 metrics, values and strings byte for byte', () => {
    expectRecords(file.bytes, [
      // magic "MMV\0", version 1, gen1, gen2, 5 tocs, flags PROCESS, pid 1234, cluster 321
      [
        'header',
        0,
        rec(
          '4d4d5600 01000000 0200000001000000 0200000001000000 05000000 02000000 d2040000 41010000',
          40,
        ),
      ],
      ['toc indoms', 40, rec('01000000 01000000 7800000000000000', 16)],
      ['toc instances', 56, rec('02000000 01000000 9800000000000000', 16)],
      ['toc metrics', 72, rec('03000000 02000000 e800000000000000', 16)],
      ['toc values', 88, rec('04000000 02000000 b801000000000000', 16)],
      ['toc strings', 104, rec('05000000 03000000 f801000000000000', 16)],
      // serial 5, 1 instance at 152, short help at 760, no long help
      [
        'indom',
        120,
        rec('05000000 01000000 9800000000000000 f802000000000000 0000000000000000', 32),
      ],
      // indom at 120, pad, id 7, name "a" in 64 bytes
      ['instance v1', 152, rec(`7800000000000000 00000000 07000000 ${text('a')}`, 80)],
      // name "m"; item 3, type u64 (3), counter (1), units count (0x00100000), indom 5, pad,
      // short help at 1016, no long help
      [
        'metric v1 m',
        232,
        rec(
          `${text('m')}${'00'.repeat(63)} 03000000 03000000 01000000 00001000 05000000 00000000 f803000000000000 0000000000000000`,
          104,
        ),
      ],
      // name "s"; item 4, type string (6), discrete (4), no units, indom -1, no help
      [
        'metric v1 s',
        336,
        rec(`${text('s')}${'00'.repeat(63)} 04000000 06000000 04000000 00000000 ffffffff`, 104),
      ],
      // value 0, extra 0, metric at 232, instance at 152
      [
        'value m/a',
        440,
        rec('0000000000000000 0000000000000000 e800000000000000 9800000000000000', 32),
      ],
      // value 0, extra = string slot at 504, metric at 336, no instance
      [
        'value s',
        472,
        rec('0000000000000000 f801000000000000 5001000000000000 0000000000000000', 32),
      ],
      ['string slot of s', 504, rec('', 256)],
      ['string "ih"', 760, rec(text('ih'), 256)],
      ['string "h"', 1016, rec(text('h'), 256)],
    ]);
  });

  it('leaves gen2 at zero unless the image is complete', () => {
    const partial = encodeMmv({
      generation: 0x0000000100000002n,
      flags: 0,
      pid: 1234,
      cluster: 1,
      indoms: [],
      metrics: [],
    });
    expect(Buffer.from(partial.bytes.subarray(8, 24)).toString('hex')).toBe(
      '0200000001000000' + '0000000000000000',
    );
    // Without the PROCESS flag the pid field stays 0, as PCP's C library writes it.
    expect(Buffer.from(partial.bytes.subarray(32, 36)).toString('hex')).toBe('00000000');
  });

  it('reports the values region: the values section and the string-value slots', () => {
    expect(file.valuesRegion).toEqual({ offset: 440, length: 64 + 256 });
    expect(file.values.map((v) => [v.offset, v.stringOffset])).toEqual([
      [440, 0],
      [472, 504],
    ]);
  });
});

describe('golden bytes, version 2', () => {
  // indom serial 1 with instance 0 "x"; metric "n" item 0, double, instant, over indom 1.
  // Layout: header 0, toc 40 (5 x 16), indoms 120, instances 152 (24), metrics 176 (48),
  // values 224, strings 256: "x" 256, "n" 512; end 768.
  const file = encodeMmv({
    minVersion: 2,
    generation: 5n,
    complete: true,
    flags: 0,
    pid: 0,
    cluster: 7,
    indoms: [{ serial: 1, instances: [{ id: 0, name: 'x' }] }],
    metrics: [{ name: 'n', item: 0, type: 5, semantics: 3, units: 0, indom: 1 }],
  });

  it('writes v2 instances and metrics with names in the string section', () => {
    expect(file.version).toBe(2);
    expectRecords(file.bytes, [
      [
        'header',
        0,
        rec(
          '4d4d5600 02000000 0500000000000000 0500000000000000 05000000 00000000 00000000 07000000',
          40,
        ),
      ],
      ['toc indoms', 40, rec('01000000 01000000 7800000000000000', 16)],
      ['toc instances', 56, rec('02000000 01000000 9800000000000000', 16)],
      ['toc metrics', 72, rec('03000000 01000000 b000000000000000', 16)],
      ['toc values', 88, rec('04000000 01000000 e000000000000000', 16)],
      ['toc strings', 104, rec('05000000 02000000 0001000000000000', 16)],
      ['indom', 120, rec('01000000 01000000 9800000000000000', 32)],
      // indom at 120, pad, id 0, name string at 256
      ['instance v2', 152, rec('7800000000000000 00000000 00000000 0001000000000000', 24)],
      // name at 512, item 0, double (5), instant (3), no units, indom 1, pad, no help
      ['metric v2', 176, rec('0002000000000000 00000000 05000000 03000000 00000000 01000000', 48)],
      [
        'value',
        224,
        rec('0000000000000000 0000000000000000 b000000000000000 9800000000000000', 32),
      ],
      ['string "x"', 256, rec(text('x'), 256)],
      ['string "n"', 512, rec(text('n'), 256)],
    ]);
  });

  it('switches to version 2 by itself for a name of 64 bytes', () => {
    const long = 'a'.repeat(64);
    const v = (name: string) =>
      encodeMmv({
        generation: 1n,
        flags: 0,
        pid: 0,
        cluster: 1,
        indoms: [],
        metrics: [{ name, item: 0, type: 5, semantics: 3, units: 0, indom: null }],
      }).version;
    expect(v(long.slice(0, 63))).toBe(1);
    expect(v(long)).toBe(2);
  });
});

describe('golden bytes, version 3', () => {
  // metric "q" item 9, u32, instant, singleton; a cluster label {"a":1} on cluster 321.
  // Layout: header 0, toc 40 (4 x 16), metrics 104 (48), values 152, strings 184 ("q"),
  // labels 440; end 696.
  const file = encodeMmv({
    generation: 9n,
    complete: true,
    flags: 0,
    pid: 0,
    cluster: 321,
    indoms: [],
    metrics: [{ name: 'q', item: 9, type: 1, semantics: 3, units: 0, indom: null }],
    labels: [{ flags: 8, identity: 321, instance: -1, payload: '{"a":1}' }],
  });

  it('writes a label record: flags, identity, instance -1, JSON payload', () => {
    expect(file.version).toBe(3);
    expectRecords(file.bytes, [
      [
        'header',
        0,
        rec(
          '4d4d5600 03000000 0900000000000000 0900000000000000 04000000 00000000 00000000 41010000',
          40,
        ),
      ],
      ['toc metrics', 40, rec('03000000 01000000 6800000000000000', 16)],
      ['toc values', 56, rec('04000000 01000000 9800000000000000', 16)],
      ['toc strings', 72, rec('05000000 01000000 b800000000000000', 16)],
      ['toc labels', 88, rec('06000000 01000000 b801000000000000', 16)],
      ['metric v2', 104, rec('b800000000000000 09000000 01000000 03000000 00000000 ffffffff', 48)],
      ['value', 152, rec('0000000000000000 0000000000000000 6800000000000000', 32)],
      ['string "q"', 184, rec(text('q'), 256)],
      ['label', 440, rec(`08000000 41010000 ffffffff ${text('{"a":1}')}`, 256)],
    ]);
  });
});

describe('golden bytes, value fields', () => {
  const cases: [string, number, number, string][] = [
    ['i32 -1', 0, -1, 'ffffffff00000000'],
    ['u32 max', 1, 4294967295, 'ffffffff00000000'],
    ['i64 -2', 2, -2, 'feffffffffffffff'],
    ['u64 2^40 + 5', 3, 2 ** 40 + 5, '0500000000010000'],
    ['u64 2^53 - 1', 3, Number.MAX_SAFE_INTEGER, 'ffffffffffff1f00'],
    ['float 1.5', 4, 1.5, '0000c03f00000000'],
    ['double 1.5', 5, 1.5, '000000000000f83f'],
  ];
  for (const [what, type, value, hex] of cases) {
    it(`encodes ${what}`, () => {
      const bytes = new Uint8Array(8);
      writeValue(new DataView(bytes.buffer), 0, type, value);
      expect(Buffer.from(bytes).toString('hex')).toBe(hex);
    });
  }
});
