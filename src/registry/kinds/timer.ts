// Timer: accumulated elapsed time and the number of timings, as two counters
// `<name>.count` and `<name>.time`, so PCP shows calls per second and time per second.

import { performance } from 'node:perf_hooks';
import { PcpAgentError, quote } from '../../errors';
import { type TimeScale, Units as U } from '../../mmv/units';
import type { InstanceDomain } from '../instance-domain';
import { Family, type FamilyContext, type MetricOptions } from '../metric';
import type { SlotHolder } from '../store';
import type { MetricSpec } from './spec';

export interface TimerOptions extends MetricOptions {
  /** The unit of `<name>.time` and of record(); default 'msec'. */
  unit?: TimeScale;
}

/** Milliseconds (performance.now()) to each time scale. */
export const FROM_MS: Readonly<Record<TimeScale, number>> = {
  nsec: 1e6,
  usec: 1e3,
  msec: 1,
  sec: 1e-3,
  min: 1 / 60e3,
  hour: 1 / 3600e3,
};

/** A running timing from Timer.start(). */
export interface Stopwatch {
  /** Records the time since start() once; returns it in the timer's unit. Later calls return 0. */
  stop(): number;
}

export class Timer implements SlotHolder {
  // Declared, not defined: see SlotHolder.
  declare v: Float64Array;
  declare private readonly i: number;
  declare private readonly fromMs: number;
  declare private readonly name: string;

  /** @internal */
  constructor(i: number, fromMs: number, name: string) {
    this.i = i;
    this.fromMs = fromMs;
    this.name = name;
  }

  /** Records one timing, in the timer's unit. */
  record(duration: number): void {
    if (!(duration >= 0 && duration < Infinity)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_VALUE',
        `timer ${quote(this.name)}: a duration must be a finite number >= 0, got ${quote(duration)}`,
      );
    }
    const v = this.v;
    v[this.i]++;
    v[this.i + 1] += duration;
  }

  /** Starts a timing; stop() records it. */
  start(): Stopwatch {
    const t0 = performance.now();
    let done = false;
    return {
      stop: (): number => {
        if (done) return 0;
        done = true;
        const d = (performance.now() - t0) * this.fromMs;
        this.record(d);
        return d;
      },
    };
  }

  /**
   * Times a function: a sync one until it returns or throws, one returning a promise until
   * the promise settles. The result, or the error, is passed through unchanged.
   */
  time<T>(fn: () => T): T {
    const t0 = performance.now();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.record((performance.now() - t0) * this.fromMs);
      throw err;
    }
    if (isThenable(result)) {
      const done = () => this.record((performance.now() - t0) * this.fromMs);
      return result.then(
        (value: unknown) => {
          done();
          return value;
        },
        (err: unknown) => {
          done();
          throw err;
        },
      ) as T;
    }
    this.record((performance.now() - t0) * this.fromMs);
    return result;
  }

  /** Timings recorded. */
  get count(): number {
    return this.v[this.i];
  }

  /** Total time recorded, in the timer's unit. */
  get total(): number {
    return this.v[this.i + 1];
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (
    x !== null &&
    (typeof x === 'object' || typeof x === 'function') &&
    typeof (x as { then?: unknown }).then === 'function'
  );
}

export class TimerFamily extends Family<Timer> {
  private readonly fromMs: number;

  /** @internal */
  constructor(ctx: FamilyContext, name: string, indom: InstanceDomain | null, unit: TimeScale) {
    super(ctx, name, indom, 2);
    this.fromMs = FROM_MS[unit];
  }

  static specs(options: TimerOptions): MetricSpec[] {
    const unit = options.unit ?? 'msec';
    return [
      {
        suffix: '.count',
        type: 'u64',
        semantics: 'counter',
        units: U.count(),
        offset: 0,
        help: options.help ? `${options.help} (count)` : undefined,
        longHelp: options.longHelp,
        labels: options.labels,
      },
      {
        suffix: '.time',
        type: 'double',
        semantics: 'counter',
        units: U.time(unit),
        offset: 1,
        help: options.help ? `${options.help} (time)` : undefined,
        longHelp: options.longHelp,
        labels: options.labels,
      },
    ];
  }

  protected createHandle(block: number): Timer {
    return this.ctx.store.hold(new Timer(block, this.fromMs, this.name));
  }
}
