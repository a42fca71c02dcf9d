// MMV files built byte by byte from the mmv(5) table, with literal offsets and no encoder, so
// the reader is checked against the format itself. Shared by the reader and CLI tests.

export class Buf {
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  i32(at: number, v: number): this {
    this.view.setInt32(at, v, true);
    return this;
  }
  u32(at: number, v: number): this {
    this.view.setUint32(at, v, true);
    return this;
  }
  u64(at: number, v: number | bigint): this {
    this.view.setBigUint64(at, BigInt(v), true);
    return this;
  }
  i64(at: number, v: number | bigint): this {
    this.view.setBigInt64(at, BigInt(v), true);
    return this;
  }
  f32(at: number, v: number): this {
    this.view.setFloat32(at, v, true);
    return this;
  }
  f64(at: number, v: number): this {
    this.view.setFloat64(at, v, true);
    return this;
  }
  /** Text only: the buffer starts zero-filled, so the NUL is already there. */
  str(at: number, s: string): this {
    this.bytes.set(new TextEncoder().encode(s), at);
    return this;
  }

  /** Header: 0 magic, 4 version, 8 gen1, 16 gen2, 24 tocs, 28 flags, 32 pid, 36 cluster. */
  header(h: {
    version: number;
    gen1: bigint;
    gen2?: bigint;
    tocs: number;
    flags: number;
    pid: number;
    cluster: number;
  }): this {
    return this.str(0, 'MMV')
      .i32(4, h.version)
      .u64(8, h.gen1)
      .u64(16, h.gen2 ?? h.gen1)
      .i32(24, h.tocs)
      .u32(28, h.flags)
      .i32(32, h.pid)
      .i32(36, h.cluster);
  }

  /** TOC entry i at 40 + 16 i: 0 type, 4 count, 8 offset. */
  toc(i: number, type: number, count: number, offset: number): this {
    const at = 40 + 16 * i;
    return this.i32(at, type)
      .i32(at + 4, count)
      .u64(at + 8, offset);
  }
}

export const GEN = 0x6543_2100_000a_bcden;
export const U64_BIG = 0x8000_0000_0000_0005n;

/**
 * Version 1: one indom (serial 5, instances 0 "red" and 1 "blue", both helps), a singleton
 * u64 counter "hits" with help, an i32 "ops" over the indom, and a string "state".
 *
 *   0 header | 40 TOC x5 | 120 indom | 152 instances 2x80 | 312 metrics 3x104
 *   624 values 4x32 | 752 strings 5x256 | 2032 end
 */
export function buildV1(opts: { flags?: number; pid?: number } = {}): Buf {
  const b = new Buf(2032);
  b.header({
    version: 1,
    gen1: GEN,
    tocs: 5,
    flags: opts.flags ?? 0x3,
    pid: opts.pid ?? 4242,
    cluster: 17,
  });
  b.toc(0, 1, 1, 120) // indoms
    .toc(1, 2, 2, 152) // instances
    .toc(2, 3, 3, 312) // metrics
    .toc(3, 4, 4, 624) // values
    .toc(4, 5, 5, 752); // strings

  // indom: 0 serial, 4 count, 8 first instance, 16 short help, 24 long help
  b.u32(120, 5).u32(124, 2).u64(128, 152).u64(136, 1520).u64(144, 1776);
  // instance v1: 0 indom offset, 8 pad, 12 id, 16 char[64] name
  b.u64(152, 120).i32(164, 0).str(168, 'red');
  b.u64(232, 120).i32(244, 1).str(248, 'blue');

  // metric v1: 0 name[64], 64 item, 68 type, 72 sem, 76 units, 80 indom, 84 pad, 88 short, 96 long
  b.str(312, 'hits').u32(376, 1).i32(380, 3).i32(384, 1).u32(388, 0x0010_0000).i32(392, -1);
  b.u64(400, 1008).u64(408, 1264);
  b.str(416, 'ops').u32(480, 2).i32(484, 0).i32(488, 3).u32(492, 0x0100_2000).i32(496, 5);
  b.str(520, 'state').u32(584, 3).i32(588, 6).i32(592, 4).u32(596, 0).i32(600, -1);

  // value: 0 value, 8 extra, 16 metric offset, 24 instance offset
  b.u64(624, U64_BIG).u64(640, 312);
  b.i32(656, -3).u64(672, 416).u64(680, 152);
  b.i32(688, 7).u64(704, 416).u64(712, 232);
  b.i32(720, 7).i64(728, 752).u64(736, 520);

  b.str(752, 'running')
    .str(1008, 'Hits so far')
    .str(1264, 'Every hit since the process started.')
    .str(1520, 'Colours')
    .str(1776, 'The colours we count.');
  return b;
}

export const LONG_INSTANCE = `instance-${'i'.repeat(70)}`;
export const LONG_METRIC = `ratio_${'m'.repeat(70)}`;

/**
 * Version 2 (or 3 with labels): names live in string slots. One indom (serial 9, instances
 * 100 "first" and 200 LONG_INSTANCE), an i64 "x.size" over it, a singleton float LONG_METRIC.
 *
 *   0 header | 40 TOC (5 or 6 x16) | T indom | T+32 instances 2x24 | T+80 metrics 2x48
 *   T+176 values 3x32 | T+272 strings 5x256 | T+1552 labels 4x256 (v3)
 */
export function buildV2(opts: { labels?: boolean } = {}): { buf: Buf; at: (n: number) => number } {
  const tocs = opts.labels ? 6 : 5;
  const T = 40 + 16 * tocs;
  const at = (n: number): number => T + n;
  const size = at(1552) + (opts.labels ? 4 * 256 : 0);
  const b = new Buf(size);
  b.header({ version: opts.labels ? 3 : 2, gen1: GEN, tocs, flags: 0, pid: 77, cluster: 5 });
  b.toc(0, 1, 1, at(0))
    .toc(1, 2, 2, at(32))
    .toc(2, 3, 2, at(80))
    .toc(3, 4, 3, at(176))
    .toc(4, 5, 5, at(272));
  if (opts.labels) b.toc(5, 6, 4, at(1552));

  const s = (i: number): number => at(272 + 256 * i);
  b.u32(at(0), 9).u32(at(4), 2).u64(at(8), at(32));
  // instance v2: 0 indom offset, 8 pad, 12 id, 16 name offset
  b.u64(at(32), at(0)).i32(at(44), 100).u64(at(48), s(0));
  b.u64(at(56), at(0)).i32(at(68), 200).u64(at(72), s(1));
  // metric v2: 0 name, 8 item, 12 type, 16 sem, 20 units, 24 indom, 28 pad, 32 short, 40 long
  b.u64(at(80), s(2)).u32(at(88), 10).i32(at(92), 2).i32(at(96), 3).u32(at(100), 0x1000_0000);
  b.i32(at(104), 9);
  b.u64(at(128), s(3)).u32(at(136), 11).i32(at(140), 4).i32(at(144), 3).u32(at(148), 0);
  b.i32(at(152), -1).u64(at(160), s(4));
  // values
  b.i64(at(176), -(2n ** 40n))
    .u64(at(192), at(80))
    .u64(at(200), at(32));
  b.i64(at(208), 9007199254740993n).u64(at(224), at(80)).u64(at(232), at(56));
  b.f32(at(240), 0.25).u64(at(256), at(128));
  b.str(s(0), 'first').str(s(1), LONG_INSTANCE).str(s(2), 'x.size').str(s(3), LONG_METRIC);
  b.str(s(4), 'Ratio of things');

  if (opts.labels) {
    // label: 0 flags, 4 identity, 8 instance, 12 char[244] payload
    const l = (i: number): number => at(1552 + 256 * i);
    b.u32(l(0), 0x08)
      .u32(l(0) + 4, 5)
      .i32(l(0) + 8, -1)
      .str(l(0) + 12, '{"app":"shop"}');
    b.u32(l(1), 0x90)
      .u32(l(1) + 4, 10)
      .i32(l(1) + 8, -1)
      .str(l(1) + 12, '{"unit":"bytes"}');
    b.u32(l(2), 0x20)
      .u32(l(2) + 4, 9)
      .i32(l(2) + 8, 200)
      .str(l(2) + 12, '{"tier":"gold"}');
    b.u32(l(3), 0x04)
      .u32(l(3) + 4, 9)
      .i32(l(3) + 8, -1)
      .str(l(3) + 12, 'not json');
  }
  return { buf: b, at };
}
