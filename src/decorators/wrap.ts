// The wrappers a decorated method is replaced by: they call the original once, with the same
// `this` and arguments, return what it returns and rethrow what it throws, and record the
// outcome. The hot path: no allocation and no closure per call for a sync method.

// biome-ignore-all lint/complexity/noArguments: forwarding `arguments` keeps their exact count and, unlike a rest parameter, allocates nothing on the hot path.

import { performance } from 'node:perf_hooks';
import type { DecoratedMember } from './member';
import { copyIdentity } from './metadata';
import { currentRequest, enterMethod, leaveMethod, type MethodTimeState } from './request-context';
import type { Sink } from './sinks';

type Fn = (...args: unknown[]) => unknown;

const apply = Reflect.apply;

const AsyncFunction = Object.getPrototypeOf(async () => {});
const GeneratorFunction = Object.getPrototypeOf(function* () {});
const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {});

/** Marks our wrappers: stacking two of our decorators on one method is an error. */
const wrappers = new WeakMap<object, DecoratedMember>();

/** The member a function is our wrapper for, if it is one. */
export function wrapperMember(fn: unknown): DecoratedMember | undefined {
  return typeof fn === 'function' ? wrappers.get(fn) : undefined;
}

/**
 * Wraps a method: sync methods until they return or throw; those returning a Promise until it
 * settles; async generators and generators over their steps, until done (see below).
 */
export function wrapMethod(original: Fn, m: DecoratedMember): Fn {
  const timed = m.kind !== 'counter';
  const proto = Object.getPrototypeOf(original);
  let wrapper: Fn;
  if (proto === AsyncFunction)
    wrapper = timed ? timedAsync(original, m) : countedAsync(original, m);
  else if (proto === GeneratorFunction) wrapper = generator(original, m, timed);
  else if (proto === AsyncGeneratorFunction) wrapper = asyncGenerator(original, m, timed);
  else wrapper = timed ? timedSync(original, m) : countedSync(original, m);
  copyIdentity(original, wrapper);
  wrappers.set(wrapper, m);
  return wrapper;
}

/** The sink of a call that names its instance. Never throws. */
function pick(m: DecoratedMember, self: unknown, args: ArrayLike<unknown>): Sink {
  const sinks = m.sinks;
  if (sinks === null) return m.sink;
  let name: unknown;
  try {
    name = apply(m.instanceOf as Fn, self, args);
  } catch {
    name = undefined;
  }
  return sinks.get(name);
}

function countedSync(original: Fn, m: DecoratedMember): Fn {
  return function (this: unknown) {
    let sink = m.sink;
    const sinks = m.sinks;
    if (sinks !== null) {
      let name: unknown;
      try {
        name = apply(m.instanceOf as Fn, this, arguments);
      } catch {
        name = undefined;
      }
      sink = sinks.get(name);
    }
    let result: unknown;
    try {
      result = apply(original, this, arguments);
    } catch (err) {
      sink.fail(0);
      throw err;
    }
    if (result instanceof Promise) return settle(result, sink, 0, undefined, false);
    sink.ok(0);
    return result;
  };
}

function timedSync(original: Fn, m: DecoratedMember): Fn {
  return function (this: unknown) {
    let sink = m.sink;
    const sinks = m.sinks;
    if (sinks !== null) {
      let name: unknown;
      try {
        name = apply(m.instanceOf as Fn, this, arguments);
      } catch {
        name = undefined;
      }
      sink = sinks.get(name);
    }
    const state = currentRequest();
    const t0 = performance.now();
    if (state !== undefined) enterMethod(state, t0);
    let result: unknown;
    try {
      result = apply(original, this, arguments);
    } catch (err) {
      const t1 = performance.now();
      sink.fail(t1 - t0);
      if (state !== undefined) leaveMethod(state, t1);
      throw err;
    }
    if (result instanceof Promise) return settle(result, sink, t0, state, true);
    const t1 = performance.now();
    sink.ok(t1 - t0);
    if (state !== undefined) leaveMethod(state, t1);
    return result;
  };
}

/**
 * A promise that settles as `p` does, once the outcome is recorded: the same value, the same
 * error object, and, when nobody handles it, the same unhandled rejection (`p` itself is
 * handled here). It is another promise object, so own properties an API put on `p` (some HTTP
 * clients add `.json()`) are copied over.
 */
function settle(
  p: Promise<unknown>,
  sink: Sink,
  t0: number,
  state: MethodTimeState | undefined,
  timed: boolean,
): Promise<unknown> {
  const derived = p.then(
    (value) => {
      const t1 = timed ? performance.now() : 0;
      sink.ok(t1 - t0);
      if (state !== undefined) leaveMethod(state, t1);
      return value;
    },
    (err) => {
      const t1 = timed ? performance.now() : 0;
      sink.fail(t1 - t0);
      if (state !== undefined) leaveMethod(state, t1);
      throw err;
    },
  );
  for (const key in p) {
    if (Object.hasOwn(p, key))
      (derived as unknown as Record<string, unknown>)[key] = (
        p as unknown as Record<string, unknown>
      )[key];
  }
  return derived;
}

function countedAsync(original: Fn, m: DecoratedMember): Fn {
  return async function (this: unknown) {
    const sink = pick(m, this, arguments);
    try {
      const value = await apply(original, this, arguments);
      sink.ok(0);
      return value;
    } catch (err) {
      sink.fail(0);
      throw err;
    }
  };
}

function timedAsync(original: Fn, m: DecoratedMember): Fn {
  return async function (this: unknown) {
    const sink = pick(m, this, arguments);
    const state = currentRequest();
    const t0 = performance.now();
    if (state !== undefined) enterMethod(state, t0);
    try {
      const value = await apply(original, this, arguments);
      const t1 = performance.now();
      sink.ok(t1 - t0);
      if (state !== undefined) leaveMethod(state, t1);
      return value;
    } catch (err) {
      const t1 = performance.now();
      sink.fail(t1 - t0);
      if (state !== undefined) leaveMethod(state, t1);
      throw err;
    }
  };
}

/**
 * A generator method: one call is one run of the generator, recorded when it is done, throws,
 * or is closed by return() (a `break` out of for…of). Its time is the time inside its steps
 * (each next()), not the time the caller spends between them. The original is called at once,
 * as without the decorator; the wrapper hands back a generator delegating to it.
 */
function generator(original: Fn, m: DecoratedMember, timed: boolean): Fn {
  const wrapper = function (this: unknown) {
    const inner = apply(original, this, arguments) as Generator;
    return delegate(new TimedSteps(inner, pick(m, this, arguments), timed));
  };
  Object.setPrototypeOf(wrapper, GeneratorFunction);
  return wrapper;
}

function* delegate(steps: TimedSteps): Generator<unknown, unknown, unknown> {
  return yield* steps;
}

/**
 * The time a generator's steps take, added up, and its one outcome to the sink: when a step
 * is done or throws (a later step after the end adds nothing more).
 */
class StepClock {
  private spent = 0;
  private finished = false;

  constructor(
    private readonly sink: Sink,
    protected readonly timed: boolean,
  ) {}

  /** A step that started at t0 (0 if not timed) yielded a value. */
  protected lap(t0: number): void {
    if (this.timed) this.spent += performance.now() - t0;
  }

  /** A step that started at t0 finished the generator (ok) or threw. */
  protected end(ok: boolean, t0: number): void {
    this.lap(t0);
    if (this.finished) return;
    this.finished = true;
    if (ok) this.sink.ok(this.spent);
    else this.sink.fail(this.spent);
  }
}

class TimedSteps extends StepClock implements Iterator<unknown, unknown, unknown> {
  constructor(
    private readonly inner: Generator,
    sink: Sink,
    timed: boolean,
  ) {
    super(sink, timed);
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(value?: unknown): IteratorResult<unknown, unknown> {
    return this.step(this.inner.next as Fn, value);
  }

  throw(err?: unknown): IteratorResult<unknown, unknown> {
    return this.step(this.inner.throw as Fn, err);
  }

  return(value?: unknown): IteratorResult<unknown, unknown> {
    return this.step(this.inner.return as Fn, value);
  }

  private step(method: Fn, arg: unknown): IteratorResult<unknown, unknown> {
    const t0 = this.timed ? performance.now() : 0;
    let result: IteratorResult<unknown, unknown>;
    try {
      result = apply(method, this.inner, [arg]) as IteratorResult<unknown, unknown>;
    } catch (err) {
      this.end(false, t0);
      throw err;
    }
    if (result.done) this.end(true, t0);
    else this.lap(t0);
    return result;
  }
}

/** An async generator method: as a generator, each step timed until its promise settles. */
function asyncGenerator(original: Fn, m: DecoratedMember, timed: boolean): Fn {
  const wrapper = function (this: unknown) {
    const inner = apply(original, this, arguments) as AsyncGenerator;
    return asyncDelegate(new TimedAsyncSteps(inner, pick(m, this, arguments), timed));
  };
  Object.setPrototypeOf(wrapper, AsyncGeneratorFunction);
  return wrapper;
}

async function* asyncDelegate(steps: TimedAsyncSteps): AsyncGenerator<unknown, unknown, unknown> {
  return yield* steps;
}

class TimedAsyncSteps extends StepClock implements AsyncIterator<unknown, unknown, unknown> {
  constructor(
    private readonly inner: AsyncGenerator,
    sink: Sink,
    timed: boolean,
  ) {
    super(sink, timed);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(value?: unknown): Promise<IteratorResult<unknown, unknown>> {
    return this.step(this.inner.next as Fn, value);
  }

  throw(err?: unknown): Promise<IteratorResult<unknown, unknown>> {
    return this.step(this.inner.throw as Fn, err);
  }

  return(value?: unknown): Promise<IteratorResult<unknown, unknown>> {
    return this.step(this.inner.return as Fn, value);
  }

  private step(method: Fn, arg: unknown): Promise<IteratorResult<unknown, unknown>> {
    const t0 = this.timed ? performance.now() : 0;
    const p = apply(method, this.inner, [arg]) as Promise<IteratorResult<unknown, unknown>>;
    return p.then(
      (result) => {
        if (result.done) this.end(true, t0);
        else this.lap(t0);
        return result;
      },
      (err) => {
        this.end(false, t0);
        throw err;
      },
    );
  }
}
