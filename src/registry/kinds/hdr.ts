// The HDR histogram behind Histogram's min, max and percentiles: the counting of Node's native
// histogram (createHistogram({ figures }): values 1 to 2^53-1, 1-5 significant figures) done in
// JavaScript. Same buckets and answers as hdr_histogram's C code, without a native call on each
// record, and with counts that grow to the highest bucket recorded instead of all allocated up
// front (3 figures: 16 KiB to start, not 352 KiB).

import { PcpAgentError, quote } from '../../errors';

const TWO_32 = 4294967296;
/** What the native histogram reports as the minimum of no values (INT64_MAX as a double). */
const NO_MIN = 2 ** 63;
/** Counts allocated up front, at most: bucket 0 for 3 figures, several buckets for 1 or 2. */
const INITIAL_COUNTS = 2048;

/** Checks a number of significant figures: an integer from 1 to 5, as createHistogram takes. */
export function checkSignificantFigures(figures: unknown, what: string): number {
  if (!(typeof figures === 'number' && Number.isInteger(figures) && figures >= 1 && figures <= 5)) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_OPTION',
      `${what}: significantFigures must be an integer from 1 to 5, got ${quote(figures)}`,
    );
  }
  return figures;
}

export class HdrHistogram {
  // Declared, not defined, so no field starts as undefined: V8 then keeps the numbers record()
  // reads as small integers, and record() stays as fast as with constants.
  /** log2 of the sub-buckets per bucket, halved: ceil(log2(2 * 10^figures)) - 1. */
  declare private readonly halfMagnitude: number;
  /** Sub-buckets per bucket, halved. */
  declare private readonly half: number;
  /** The low bits a bucket's sub-buckets resolve exactly. */
  declare private readonly subBucketMask: number;
  /** Bit length of a value, less this, is its bucket: 31 - halfMagnitude for 32-bit clz. */
  declare private readonly lowShift: number;
  /** The same for values of 2^31 and more, counted from their high 32 bits. */
  declare private readonly highShift: number;
  /** Length of the counts that cover 2^53 - 1: what the native histogram allocates. */
  declare private readonly fullLength: number;
  declare private counts: Float64Array;
  private total = 0;
  private minValue = Infinity;
  private maxValue = 0;

  constructor(significantFigures = 3) {
    checkSignificantFigures(significantFigures, 'HDR histogram');
    // hdr_calculate_bucket_config with lowest 1 and highest 2^53 - 1.
    const subBucketCountMagnitude = Math.ceil(Math.log2(2 * 10 ** significantFigures));
    this.halfMagnitude = subBucketCountMagnitude - 1;
    this.half = 1 << this.halfMagnitude;
    this.subBucketMask = 2 * this.half - 1;
    this.lowShift = 31 - this.halfMagnitude;
    this.highShift = 63 - this.halfMagnitude;
    // Buckets to reach 2^53 - 1 from the first bucket's 2^(halfMagnitude + 1), plus one.
    const buckets = 53 - subBucketCountMagnitude + 1;
    this.fullLength = (buckets + 1) * this.half;
    this.counts = new Float64Array(Math.min(this.fullLength, INITIAL_COUNTS));
  }

  /** Counts an integer in [1, 2^53 - 1]; the caller rounds and clamps. */
  record(v: number): void {
    const k = this.countsIndex(v);
    // The counts always reach the maximum's index, so only a new maximum can need more.
    if (v > this.maxValue) {
      this.maxValue = v;
      if (k >= this.counts.length) this.grow(v);
    }
    this.counts[k]++;
    this.total++;
    if (v < this.minValue) this.minValue = v;
  }

  get count(): number {
    return this.total;
  }

  get min(): number {
    return this.minValue === Infinity ? NO_MIN : this.lowestEquivalent(this.minValue);
  }

  get max(): number {
    return this.maxValue === 0 ? 0 : this.highestEquivalent(this.maxValue);
  }

  /** @internal Counts allocated now, for tests of memory use. */
  get countsLength(): number {
    return this.counts.length;
  }

  /** hdr_value_at_percentile: the highest value equivalent to the one at that rank. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.trunc((Math.min(p, 100) / 100) * this.total + 0.5));
    const last = this.countsIndex(this.maxValue);
    let seen = 0;
    // Indexes below the minimum's are empty, so the count can start there.
    for (let k = this.countsIndex(this.minValue); k <= last; k++) {
      seen += this.counts[k];
      if (seen >= rank) return this.highestEquivalent(this.valueAt(k));
    }
    return 0;
  }

  /**
   * percentile() for several ranks in one pass over the counts, into out[at + k] divided by
   * scale: a window's percentiles cost one scan, not one each. ps in any order.
   */
  percentilesInto(ps: readonly number[], out: Float64Array, at: number, scale: number): void {
    const order = ps.map((_, k) => k).sort((a, b) => ps[a] - ps[b]);
    const last = this.countsIndex(this.maxValue);
    let k = this.countsIndex(this.minValue);
    let seen = this.total === 0 ? 0 : this.counts[k];
    for (const j of order) {
      if (this.total === 0) {
        out[at + j] = 0;
        continue;
      }
      const rank = Math.max(1, Math.trunc((Math.min(ps[j], 100) / 100) * this.total + 0.5));
      while (seen < rank && k < last) seen += this.counts[++k];
      out[at + j] = seen >= rank ? this.highestEquivalent(this.valueAt(k)) / scale : 0;
    }
  }

  reset(): void {
    if (this.total > 0)
      this.counts.fill(0, this.countsIndex(this.minValue), this.countsIndex(this.maxValue) + 1);
    this.total = 0;
    this.minValue = Infinity;
    this.maxValue = 0;
  }

  /** Extends the counts to the end of v's bucket: once per new highest bucket. */
  private grow(v: number): void {
    const length = Math.min(this.fullLength, (this.bucketOf(v) + 2) << this.halfMagnitude);
    const counts = new Float64Array(length);
    counts.set(this.counts);
    this.counts = counts;
  }

  /** Bucket of an integer in [1, 2^53): how far its bit length exceeds the sub-buckets' bits. */
  private bucketOf(v: number): number {
    if (v < 0x80000000) return this.lowShift - Math.clz32(v | this.subBucketMask);
    return this.highShift - Math.clz32(Math.floor(v / TWO_32));
  }

  /**
   * Where an integer in [1, 2^53) is counted: counts_index_for's
   * ((b + 1) << halfMagnitude) + sub - half, where half is 1 << halfMagnitude.
   */
  private countsIndex(v: number): number {
    const b = this.bucketOf(v);
    const sub = v < 0x80000000 ? v >>> b : Math.floor(v / 2 ** b);
    return (b << this.halfMagnitude) + sub;
  }

  /** The smallest value counted at an index (hdr_value_at_index). */
  private valueAt(index: number): number {
    let b = (index >> this.halfMagnitude) - 1;
    let sub = (index & (this.half - 1)) + this.half;
    if (b < 0) {
      sub -= this.half;
      b = 0;
    }
    return sub * 2 ** b;
  }

  private lowestEquivalent(v: number): number {
    const size = 2 ** this.bucketOf(v);
    return Math.floor(v / size) * size;
  }

  private highestEquivalent(v: number): number {
    return this.lowestEquivalent(v) + 2 ** this.bucketOf(v) - 1;
  }
}
