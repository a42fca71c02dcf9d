// Where the outcome of one decorated call goes: a completed call (and its time) or a failed
// one, into the handles of one PCP instance. Sinks never throw and allocate nothing.

import type { Counter } from '../registry/kinds/counter';
import type { Histogram } from '../registry/kinds/histogram';
import type { Timer } from '../registry/kinds/timer';

/** One call's outcome; `ms` is its duration in milliseconds (0 for counters, not timed). */
export interface Sink {
  ok(ms: number): void;
  fail(ms: number): void;
}

/** @Counter: calls completed, and the ones that threw or rejected. */
export class CountSink implements Sink {
  declare private readonly calls: Counter;
  declare private readonly errors: Counter;

  constructor(calls: Counter, errors: Counter) {
    this.calls = calls;
    this.errors = errors;
  }

  ok(_ms: number): void {
    this.calls.inc();
  }

  fail(_ms: number): void {
    this.calls.inc();
    this.errors.inc();
  }
}

/** What records a duration: a Timer or a Histogram handle. */
interface Recorder {
  record(value: number): void;
}

/**
 * @Timer (`.count` and `.time`) and @Histogram (the distribution): each call's duration in
 * the metric's unit, and the errors.
 */
export class DurationSink implements Sink {
  declare private readonly recorder: Recorder;
  declare private readonly errors: Counter;
  /** Milliseconds to the metric's unit. */
  declare private readonly scale: number;

  constructor(recorder: Timer | Histogram, errors: Counter, scale: number) {
    this.recorder = recorder;
    this.errors = errors;
    this.scale = scale;
  }

  ok(ms: number): void {
    this.recorder.record(ms > 0 ? ms * this.scale : 0);
  }

  fail(ms: number): void {
    this.recorder.record(ms > 0 ? ms * this.scale : 0);
    this.errors.inc();
  }
}

/** Until a member's metrics are registered (or if registering failed): outcomes go nowhere. */
export const NO_SINK: Sink = {
  ok(): void {},
  fail(): void {},
};
