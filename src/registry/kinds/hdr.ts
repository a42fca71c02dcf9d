// The HDR histogram behind Histogram's min, max and percentiles: the counting of Node's native
// histogram (createHistogram(): values 1 to 2^53-1, 3 significant figures) done in JavaScript.
// Same buckets and answers as hdr_histogram's C code, without a native call on each record.

/** Sub-buckets per bucket, halved: 2^ceil(log2(2 * 10^3)) / 2 for 3 significant figures. */
const HALF_MAGNITUDE = 10;
const HALF = 1 << HALF_MAGNITUDE;
/** The low bits a bucket's sub-buckets resolve exactly. */
const SUB_BUCKET_MASK = 2 * HALF - 1;
/** Buckets needed to reach 2^53 - 1 from 2^11, plus the first. */
const BUCKETS = 43;
const COUNTS = (BUCKETS + 1) * HALF;
const TWO_32 = 4294967296;
/** What the native histogram reports as the minimum of no values (INT64_MAX as a double). */
const NO_MIN = 2 ** 63;

/** Bucket of an integer in [1, 2^53): how far its bit length exceeds the sub-buckets' 11 bits. */
function bucketOf(v: number): number {
  if (v < 0x80000000) return 21 - Math.clz32(v | SUB_BUCKET_MASK);
  return 53 - Math.clz32(Math.floor(v / TWO_32));
}

/** Where an integer in [1, 2^53) is counted (counts_index_for). */
function countsIndex(v: number): number {
  const b = bucketOf(v);
  const sub = v < 0x80000000 ? v >>> b : Math.floor(v / 2 ** b);
  return ((b + 1) << HALF_MAGNITUDE) + sub - HALF;
}

/** The smallest value counted at an index (hdr_value_at_index). */
function valueAt(index: number): number {
  let b = (index >> HALF_MAGNITUDE) - 1;
  let sub = (index & (HALF - 1)) + HALF;
  if (b < 0) {
    sub -= HALF;
    b = 0;
  }
  return sub * 2 ** b;
}

function lowestEquivalent(v: number): number {
  const size = 2 ** bucketOf(v);
  return Math.floor(v / size) * size;
}

function highestEquivalent(v: number): number {
  return lowestEquivalent(v) + 2 ** bucketOf(v) - 1;
}

export class HdrHistogram {
  private readonly counts = new Float64Array(COUNTS);
  private total = 0;
  private minValue = Infinity;
  private maxValue = 0;

  /** Counts an integer in [1, 2^53 - 1]; the caller rounds and clamps. */
  record(v: number): void {
    this.counts[countsIndex(v)]++;
    this.total++;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.total;
  }

  get min(): number {
    return this.minValue === Infinity ? NO_MIN : lowestEquivalent(this.minValue);
  }

  get max(): number {
    return this.maxValue === 0 ? 0 : highestEquivalent(this.maxValue);
  }

  /** hdr_value_at_percentile: the highest value equivalent to the one at that rank. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.trunc((Math.min(p, 100) / 100) * this.total + 0.5));
    const last = countsIndex(this.maxValue);
    let seen = 0;
    // Indexes below the minimum's are empty, so the count can start there.
    for (let k = countsIndex(this.minValue); k <= last; k++) {
      seen += this.counts[k];
      if (seen >= rank) return highestEquivalent(valueAt(k));
    }
    return 0;
  }

  reset(): void {
    if (this.total > 0)
      this.counts.fill(0, countsIndex(this.minValue), countsIndex(this.maxValue) + 1);
    this.total = 0;
    this.minValue = Infinity;
    this.maxValue = 0;
  }
}
