// Mutation fuzzing of MMV files: a seeded generator, seed files whose fields are mapped from
// the format (so mutations hit counts, offsets and codes, not only padding), and mutators.

import { Header, Indom, Label, Size, Toc, Value } from '../../src/mmv/format';
import { type MmvFile, readMmv } from '../../src/mmv/reader';

/** mulberry32: small, fast, and the same sequence on every machine for a given seed. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** 0 to n-1. */
  int(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  /** lo to hi, both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() < p * 0x1_0000_0000;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

/** The seed of case `index` of a run seeded with `base`: each case replays on its own. */
export function caseSeed(base: number, index: number): number {
  let h = (Math.imul(index + 1, 0x9e3779b1) ^ base) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 4- or 8-byte field of a seed file that holds a count, an offset, an id or a code. */
export interface Field {
  readonly at: number;
  readonly width: 4 | 8;
  readonly what: string;
}

/** A file to mutate, with the places where its structure lives. */
export interface SeedFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly fields: readonly Field[];
  /** Offsets where a record, a string slot or a section starts: plausible pointer targets. */
  readonly targets: readonly number[];
  /** [offset, length] of each section, for swaps and copies of whole records. */
  readonly sections: readonly (readonly [number, number])[];
}

/** Maps the fields of a well-formed file; throws if the file does not decode. */
export function seedFile(name: string, bytes: Uint8Array): SeedFile {
  const f: MmvFile = readMmv(bytes);
  const v1 = f.version === 1;
  const fields: Field[] = [];
  const field = (at: number, width: 4 | 8, what: string) => fields.push({ at, width, what });
  const targets = new Set<number>([0, Size.HEADER, bytes.length]);

  field(Header.VERSION, 4, 'version');
  field(Header.GEN1, 8, 'gen1');
  field(Header.GEN2, 8, 'gen2');
  field(Header.TOC_COUNT, 4, 'toc count');
  field(Header.FLAGS, 4, 'flags');
  field(Header.PID, 4, 'pid');
  field(Header.CLUSTER, 4, 'cluster');
  const sections: [number, number][] = [];
  for (const t of f.toc) {
    field(t.offset + Toc.TYPE, 4, 'toc type');
    field(t.offset + Toc.COUNT, 4, 'toc count');
    field(t.offset + Toc.OFFSET, 8, 'toc offset');
    targets.add(t.offset).add(t.sectionOffset);
  }
  for (const d of f.indoms) {
    field(d.offset + Indom.SERIAL, 4, 'indom serial');
    field(d.offset + Indom.COUNT, 4, 'indom count');
    field(d.offset + Indom.OFFSET, 8, 'indom instances');
    field(d.offset + Indom.SHORT_HELP, 8, 'indom short help');
    field(d.offset + Indom.LONG_HELP, 8, 'indom long help');
    targets.add(d.offset);
    for (const i of d.instances) {
      field(i.offset, 8, 'instance indom');
      field(i.offset + 12, 4, 'instance id');
      if (!v1) field(i.offset + 16, 8, 'instance name');
      targets.add(i.offset);
    }
  }
  for (const m of f.metrics) {
    const base = v1 ? 64 : 8;
    if (!v1) field(m.offset, 8, 'metric name');
    field(m.offset + base, 4, 'metric item');
    field(m.offset + base + 4, 4, 'metric type');
    field(m.offset + base + 8, 4, 'metric semantics');
    field(m.offset + base + 12, 4, 'metric units');
    field(m.offset + base + 16, 4, 'metric indom');
    field(m.offset + base + 24, 8, 'metric short help');
    field(m.offset + base + 32, 8, 'metric long help');
    targets.add(m.offset);
  }
  for (const v of f.values) {
    field(v.offset + Value.VALUE, 8, 'value');
    field(v.offset + Value.EXTRA, 8, 'value extra');
    field(v.offset + Value.METRIC, 8, 'value metric');
    field(v.offset + Value.INSTANCE, 8, 'value instance');
    targets.add(v.offset);
  }
  for (const l of f.labels) {
    field(l.offset + Label.FLAGS, 4, 'label flags');
    field(l.offset + Label.IDENTITY, 4, 'label identity');
    field(l.offset + Label.INSTANCE, 4, 'label instance');
    targets.add(l.offset);
  }
  for (const s of f.strings) targets.add(s.offset);
  for (const t of f.toc) {
    const size = sectionRecordSize(t.type, v1);
    if (t.count > 0) sections.push([t.sectionOffset, t.count * size]);
  }
  return { name, bytes, fields, targets: [...targets].sort((a, b) => a - b), sections };
}

function sectionRecordSize(type: number, v1: boolean): number {
  switch (type) {
    case 1:
      return Size.INDOM;
    case 2:
      return v1 ? Size.INSTANCE_V1 : Size.INSTANCE_V2;
    case 3:
      return v1 ? Size.METRIC_V1 : Size.METRIC_V2;
    case 4:
      return Size.VALUE;
    default:
      return Size.STRING;
  }
}

const U64 = (1n << 64n) - 1n;

/** Values that break reasoning about counts and offsets: limits, signs, sizes, near misses. */
const BOUNDARIES: readonly bigint[] = [
  0n,
  1n,
  2n,
  3n,
  4n,
  5n,
  6n,
  7n,
  8n,
  9n,
  16n,
  40n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  1023n,
  1024n,
  2047n,
  2048n,
  4095n,
  9999n,
  10000n,
  10001n,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_fffen,
  0xffff_ffffn,
  0x1_0000_0000n,
  (1n << 53n) - 1n,
  1n << 53n,
  (1n << 53n) + 1n,
  (1n << 63n) - 1n,
  1n << 63n,
  U64 - 1n,
  U64,
];

/** An interesting value for a field of `width` bytes of `seed` (as an unsigned bigint). */
export function interesting(rng: Rng, seed: SeedFile, size: number, width: 4 | 8): bigint {
  let v: bigint;
  switch (rng.int(6)) {
    case 0:
      v = rng.pick(BOUNDARIES);
      break;
    case 1: {
      // around the end of the file, where "fits" and "does not fit" meet
      v =
        BigInt(size) + BigInt(rng.pick([0, -1, 1, -8, -16, -24, -32, -80, -104, -255, -256, -257]));
      break;
    }
    case 2:
    case 3: {
      // another record's start, or a few bytes off it: a pointer to the wrong thing
      const delta = rng.chance(0.5) ? 0 : rng.range(-12, 12);
      v = BigInt(Math.max(0, rng.pick(seed.targets) + delta));
      break;
    }
    case 4: {
      // what another field holds: a count where an offset belongs, an id for a serial
      const other = rng.pick(seed.fields);
      v = read(seed.bytes, other.at, other.width);
      break;
    }
    default:
      v = width === 8 && rng.chance(0.5) ? rng.u64() : BigInt(rng.u32());
  }
  if (rng.chance(0.1)) v = -v; // negative-looking: two's complement of the value
  return BigInt.asUintN(width * 8, v);
}

function read(bytes: Uint8Array, at: number, width: 4 | 8): bigint {
  if (at + width > bytes.length) return 0n;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return width === 8 ? view.getBigUint64(at, true) : BigInt(view.getUint32(at, true));
}

function write(bytes: Uint8Array, at: number, width: 4 | 8, v: bigint): void {
  if (at < 0 || at + width > bytes.length) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 8) view.setBigUint64(at, BigInt.asUintN(64, v), true);
  else view.setUint32(at, Number(BigInt.asUintN(32, v)), true);
}

/** A mutated file and what was done to it, for the failure report. */
export interface Mutant {
  bytes: Uint8Array;
  steps: string[];
}

type Mutator = (rng: Rng, m: Mutant, seed: SeedFile, corpus: readonly SeedFile[]) => void;

/** Where a random position lands: mostly in the structured head, sometimes anywhere. */
function position(rng: Rng, m: Mutant, seed: SeedFile): number {
  const n = m.bytes.length;
  if (n === 0) return 0;
  if (rng.chance(0.5)) return rng.int(Math.min(n, 40 + 16 * 8));
  if (rng.chance(0.5) && seed.targets.length > 0) {
    return Math.min(n - 1, rng.pick(seed.targets) + rng.int(32));
  }
  return rng.int(n);
}

const MUTATORS: readonly (readonly [string, number, Mutator])[] = [
  [
    'field',
    8,
    (rng, m, seed) => {
      const f = rng.pick(seed.fields);
      const v = interesting(rng, seed, m.bytes.length, f.width);
      write(m.bytes, f.at, f.width, v);
      m.steps.push(`${f.what} @${f.at} = ${v}`);
    },
  ],
  [
    'bit',
    3,
    (rng, m, seed) => {
      if (m.bytes.length === 0) return;
      const at = position(rng, m, seed);
      const bit = rng.int(8);
      m.bytes[at]! ^= 1 << bit;
      m.steps.push(`flip bit ${bit} @${at}`);
    },
  ],
  [
    'byte',
    2,
    (rng, m, seed) => {
      if (m.bytes.length === 0) return;
      const at = position(rng, m, seed);
      const v = rng.pick([0, 0xff, 0x7f, 0x80, 1, 0x1b, 0x0a, rng.int(256)]);
      m.bytes[at] = v;
      m.steps.push(`byte @${at} = ${v}`);
    },
  ],
  [
    'word',
    3,
    (rng, m, seed) => {
      const width = rng.pick([4, 8] as const);
      const at = position(rng, m, seed) & ~(rng.chance(0.8) ? 3 : 0);
      const v = interesting(rng, seed, m.bytes.length, width);
      write(m.bytes, at, width, v);
      m.steps.push(`u${width * 8} @${at} = ${v}`);
    },
  ],
  [
    'truncate',
    2,
    (rng, m, seed) => {
      const n = m.bytes.length;
      const to = rng.chance(0.5)
        ? Math.max(0, Math.min(n, rng.pick(seed.targets) + rng.range(-2, 2)))
        : rng.int(n + 1);
      m.bytes = m.bytes.slice(0, to);
      m.steps.push(`truncate to ${to}`);
    },
  ],
  [
    'extend',
    1,
    (rng, m) => {
      const extra = rng.pick([1, 7, 8, 32, 256, rng.range(1, 4096)]);
      const out = new Uint8Array(m.bytes.length + extra);
      out.set(m.bytes);
      const fill = rng.int(3);
      if (fill === 1) out.fill(0xff, m.bytes.length);
      if (fill === 2) for (let i = m.bytes.length; i < out.length; i++) out[i] = rng.int(256);
      m.bytes = out;
      m.steps.push(`extend by ${extra} (${['zeros', '0xff', 'random'][fill]})`);
    },
  ],
  [
    'swap',
    2,
    (rng, m, seed) => {
      // two TOC entries, or two blocks of whole sections (records swapped between sections)
      if (rng.chance(0.5) || seed.sections.length < 2) {
        const n = Number(read(seed.bytes, Header.TOC_COUNT, 4));
        const a = rng.int(n);
        const b = rng.int(n);
        swap(m.bytes, 40 + 16 * a, 40 + 16 * b, rng.chance(0.5) ? 16 : 8);
        m.steps.push(`swap TOC[${a}] and TOC[${b}]`);
      } else {
        const [a, la] = rng.pick(seed.sections);
        const [b, lb] = rng.pick(seed.sections);
        const len = Math.min(la, lb, rng.pick([8, 16, 24, 32, 48, 80, 104, 256]));
        swap(m.bytes, a, b, len);
        m.steps.push(`swap ${len} bytes @${a} and @${b}`);
      }
    },
  ],
  [
    'copy',
    1,
    (rng, m, seed) => {
      const from = rng.pick(seed.targets);
      const to = rng.pick(seed.targets);
      const len = rng.pick([8, 16, 32, 64, 256]);
      if (from + len <= m.bytes.length && to + len <= m.bytes.length) {
        m.bytes.copyWithin(to, from, from + len);
        m.steps.push(`copy ${len} bytes @${from} to @${to}`);
      }
    },
  ],
  [
    'text',
    1,
    (rng, m, seed) => {
      // a string or name without its NUL, or with bytes that are not UTF-8 or not printable
      const at = Math.min(rng.pick(seed.targets), Math.max(0, m.bytes.length - 1));
      const len = rng.pick([64, 244, 256, 300]);
      const kind = rng.int(3);
      for (let i = at; i < Math.min(m.bytes.length, at + len); i++) {
        m.bytes[i] =
          kind === 0
            ? 0x61
            : kind === 1
              ? rng.pick([0xc3, 0x28, 0xff, 0xe2, 0x80])
              : rng.pick([0x1b, 0x5b, 0x0a, 0x07, 0x9b]);
      }
      m.steps.push(`text ${['no NUL', 'bad UTF-8', 'control bytes'][kind]} ${len} @${at}`);
    },
  ],
  [
    'splice',
    1,
    (rng, m, _seed, corpus) => {
      // this file's head on another file's body: sizes and versions that disagree
      const other = rng.pick(corpus);
      const cut = rng.pick([40, 40 + 16 * rng.range(1, 6), rng.int(other.bytes.length)]);
      const out = new Uint8Array(Math.max(cut, other.bytes.length));
      out.set(other.bytes);
      out.set(m.bytes.subarray(0, Math.min(cut, m.bytes.length)));
      m.bytes = out;
      m.steps.push(`splice head ${cut} onto ${other.name}`);
    },
  ],
];

const TOTAL_WEIGHT = MUTATORS.reduce((n, [, w]) => n + w, 0);

function swap(bytes: Uint8Array, a: number, b: number, len: number): void {
  if (a === b || a + len > bytes.length || b + len > bytes.length) return;
  const tmp = bytes.slice(a, a + len);
  bytes.copyWithin(a, b, b + len);
  bytes.set(tmp, b);
}

/** One to four mutations of a seed file chosen by `rng`. */
export function mutate(rng: Rng, corpus: readonly SeedFile[]): Mutant & { seed: string } {
  const seed = rng.pick(corpus);
  const m: Mutant = { bytes: seed.bytes.slice(), steps: [] };
  const n = rng.pick([1, 1, 1, 2, 2, 3, 4]);
  for (let k = 0; k < n; k++) {
    let w = rng.int(TOTAL_WEIGHT);
    for (const [, weight, mutator] of MUTATORS) {
      w -= weight;
      if (w < 0) {
        mutator(rng, m, seed, corpus);
        break;
      }
    }
  }
  return { ...m, seed: seed.name };
}

/** Records the reader decoded: each comes from at least 16 bytes of the file (see readMmv). */
export function decodedRecords(f: MmvFile): number {
  let n = f.toc.length + f.indoms.length + f.metrics.length + f.values.length;
  n += f.strings.length + f.labels.length;
  for (const d of f.indoms) n += d.instances.length;
  return n;
}

/** C0 and C1 control characters and DEL, which a terminal may act on; newline excepted. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
export const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
