// Where values live between flushes: one Float64Array of slots (and parallel arrays for
// strings and for counters' pending counts). A handle's update is one store into it; slots
// never move, the arrays only grow.

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

/**
 * A counter's handle: `v`, and `p`, the increments not yet folded into `v`. A counter counts
 * in an Int32Array and fold() adds that into the Float64Array before anything reads the slot.
 * An increment of a double in memory is a load, an add and a store that the next increment
 * waits on: 3.4 ns a call on the AMD EPYC VM here (2.3 ns on Intel), 0.9-1.3 ns as an integer.
 */
export interface CountHolder extends SlotHolder {
  p: Int32Array;
}

/** A pending count folds into its slot at this many, far below the Int32 limit. */
export const FOLD_AT = 0x40000000;

export class ValueStore {
  f64: Float64Array;
  /** Counters' increments not yet in f64, by slot; 0 elsewhere. */
  pending: Int32Array;
  readonly strings: string[] = [];
  private used = 0;
  private readonly holders: SlotHolder[] = [];
  private readonly countHolders: CountHolder[] = [];
  /** The slots of countHolders: what fold() visits. */
  private readonly countSlots: number[] = [];

  constructor(capacity = 256) {
    this.f64 = new Float64Array(capacity);
    this.pending = new Int32Array(capacity);
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
      const nextPending = new Int32Array(capacity);
      nextPending.set(this.pending);
      this.pending = nextPending;
      for (const h of this.holders) h.v = next;
      for (const h of this.countHolders) h.p = nextPending;
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

  /** hold() for a counter, whose increments go to `pending` at `slot` until fold(). */
  holdCounts<T extends CountHolder>(holder: T, slot: number): T {
    holder.p = this.pending;
    this.countHolders.push(holder);
    this.countSlots.push(slot);
    return this.hold(holder);
  }

  /** Adds the counters' pending increments into their slots: before any read of f64. */
  fold(): void {
    const f64 = this.f64;
    const pending = this.pending;
    const slots = this.countSlots;
    for (let j = 0; j < slots.length; j++) {
      const i = slots[j];
      const n = pending[i];
      if (n !== 0) {
        f64[i] += n;
        pending[i] = 0;
      }
    }
  }
}
