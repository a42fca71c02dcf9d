// Where values live between flushes: one Float64Array of slots (and a parallel array for
// strings). A handle's update is one store into it; slots never move, the array only grows.

/** Anything holding a reference to the slot array, re-pointed when it grows. */
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
