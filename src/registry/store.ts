// Where values live between flushes: one Float64Array of slots (and a parallel array for
// strings). A handle's update is one store into it; slots never move, the array only grows.

/**
 * Anything holding a reference to the slot array, re-pointed when it grows.
 *
 * The handles that implement it (Counter, Gauge, Timer, Histogram, RawMetric) `declare` their
 * fields and set each once in the constructor (`v` in hold()). Defined class fields, as
 * TypeScript emits them for ES2022, first set every field to undefined; V8 then loses the
 * field's type (a Smi index becomes any value) and checks it again on every update, which cost
 * Histogram.record about a third more in `npm run bench`.
 */
export interface SlotHolder {
  v: Float64Array;
}

export class ValueStore {
  f64: Float64Array;
  readonly strings: string[] = [];
  private used = 0;
  private readonly holders: SlotHolder[] = [];

  constructor(capacity = 256) {
    this.f64 = new Float64Array(capacity);
  }

  /** Reserves `n` consecutive slots, zeroed, and returns the first. */
  alloc(n: number): number {
    const first = this.used;
    if (first + n > this.f64.length) {
      let capacity = this.f64.length * 2;
      while (capacity < first + n) capacity *= 2;
      const next = new Float64Array(capacity);
      next.set(this.f64);
      this.f64 = next;
      for (const h of this.holders) h.v = next;
    }
    this.used += n;
    return first;
  }

  /** Registers a holder so that it follows the array when it grows. */
  hold<T extends SlotHolder>(holder: T): T {
    holder.v = this.f64;
    this.holders.push(holder);
    return holder;
  }
}
