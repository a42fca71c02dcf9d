// Counter: a u64 that only goes up (requests served, bytes sent). PCP shows it as a rate.

import { PcpAgentError, quote } from '../../errors';
import { Units as U, type Units } from '../../mmv/units';
import { Family, type MetricOptions } from '../metric';
import { type CountHolder, FOLD_AT } from '../store';
import { type MetricSpec, singleSpec } from './spec';

export interface CounterOptions extends MetricOptions {
  /** A fixed item number (0-1023); by default a stable hash of the name. */
  item?: number;
  /** Default: count. */
  units?: Units;
}

export class Counter implements CountHolder {
  // Declared, not defined: see SlotHolder.
  declare v: Float64Array;
  declare p: Int32Array;
  declare private readonly i: number;
  declare private readonly name: string;

  /** @internal */
  constructor(i: number, name: string) {
    this.i = i;
    this.name = name;
  }

  /** Adds one, to the pending Int32 count (see CountHolder) that each flush folds in. */
  inc(): void {
    const p = this.p;
    const i = this.i;
    const n = p[i] + 1;
    if (n < FOLD_AT) {
      p[i] = n;
    } else {
      this.v[i] += n;
      p[i] = 0;
    }
  }

  /** Adds a non-negative integer; a negative, fractional or non-finite amount is an error. */
  add(n: number): void {
    if (!(typeof n === 'number' && n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_VALUE',
        `counter ${quote(this.name)} only goes up: add() takes a non-negative integer, got ${quote(n)}`,
      );
    }
    this.v[this.i] += n;
  }

  get value(): number {
    return this.v[this.i] + this.p[this.i];
  }
}

export class CounterFamily extends Family<Counter> {
  static specs(options: CounterOptions): MetricSpec[] {
    return singleSpec(options, {
      type: 'u64',
      semantics: 'counter',
      units: options.units ?? U.count(),
    });
  }

  protected createHandle(block: number): Counter {
    return this.ctx.store.holdCounts(new Counter(block, this.name), block);
  }
}
