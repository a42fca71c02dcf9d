// Timers: counts the app's setTimeout, setInterval and setImmediate (callback and
// timers/promises forms) as they are created, fire and are cleared, and times their callbacks.
//
// - globalThis, require('timers') and require('timers/promises') hold separate references:
//   each is patched (globalThis with the same wrapper as `timers`, so they stay identical).
// - No closure per timer: the Timeout/Immediate Node returns keeps its callback under a
//   symbol, and `_onTimeout`/`_onImmediate` becomes one shared function per kind, which Node
//   calls with `this` = the timer and the timer's arguments.
// - close(), [Symbol.dispose]() and refresh() use Node's internal clearTimeout and insert,
//   so Timeout.prototype and Immediate.prototype are patched too.
// - A clear is counted only if Node really cleared (it nulls `_onTimeout`/`_onImmediate`).

// biome-ignore-all lint/complexity/noArguments: forwarding `arguments` keeps their exact count (Node's setTimeout looks at it) and, unlike a rest parameter, allocates nothing on the hot path.

import { syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';
import timers from 'node:timers';
import timersPromises from 'node:timers/promises';
import shimmer from 'shimmer';
import {
  type Counter,
  type Gauge,
  type MetricVector,
  type RawMetric,
  type Registry,
  Units,
} from '../../src/index';
import type { AgentContext, Instrumentation, RequestContext, RequestState } from '../types';

const WARN = 'PCP_AGENT_WARN_TIMERS';

type Kind = 'timeout' | 'interval' | 'immediate';
const KINDS: readonly Kind[] = ['timeout', 'interval', 'immediate'];

type Callback = (...args: unknown[]) => unknown;

const apply = Reflect.apply;
const promiseThen = Promise.prototype.then;

/** The callback Node would have run: the one given, or another agent's wrapper of it. */
const CALLBACK = Symbol('pcp-agent.timers.callback');
/** The kind's stats while the timer is pending (an interval: until cleared); else null. */
const LIVE = Symbol('pcp-agent.timers.live');
/** The id handed out by `+timer`, kept so clearTimeout(id) can be counted. */
const ID = Symbol('pcp-agent.timers.id');
/** On every wrapper: another copy of this module finds it and does not patch again. */
const WRAPPER = Symbol.for('pcp-agent.timers.wrapper');

/** A Timeout or Immediate, with the internal fields Node itself relies on. */
interface TimerObject {
  _onTimeout?: unknown;
  _onImmediate?: unknown;
  _destroyed?: boolean;
  [CALLBACK]?: Callback;
  [LIVE]?: KindStats | null;
  [ID]?: number | string;
}

/** One kind's handles, and the milliseconds its callbacks took. */
class KindStats {
  readonly created: Counter;
  readonly fired: Counter;
  readonly cleared: Counter;
  readonly active: Gauge;
  private readonly callbackTime: RawMetric;
  private readonly callbackMax: Gauge;
  /** [0]: milliseconds inside callbacks in all; [1]: the longest one since the last flush. */
  readonly ms = new Float64Array(2);
  /** Shared by every promise of the kind (timers/promises): no closure per timer. */
  readonly onPromiseFired = (value: unknown): unknown => {
    this.settled(this.fired);
    return value;
  };
  readonly onPromiseAborted = (err: unknown): never => {
    this.settled(this.cleared);
    throw err;
  };

  constructor(
    m: TimerMetrics,
    readonly kind: Kind,
  ) {
    this.created = m.created.instance(kind);
    this.fired = m.fired.instance(kind);
    this.cleared = m.cleared.instance(kind);
    this.active = m.active.instance(kind);
    this.callbackTime = m.callbackTime.instance(kind);
    this.callbackMax = m.callbackMax.instance(kind);
  }

  start(): void {
    this.created.inc();
    this.active.inc();
  }

  /** A pending timer is over: fired (a timeout, an immediate) or cleared. */
  end(counter: Counter): void {
    counter.inc();
    this.active.dec();
  }

  /** Callback times are summed here on the hot path and published before each flush. */
  publish(): void {
    this.callbackTime.set(this.ms[0]);
    this.callbackMax.set(this.ms[1]);
    this.ms[1] = 0;
  }

  /** end(), from a promise reaction: an error here would settle the app's promise. */
  private settled(counter: Counter): void {
    try {
      this.end(counter);
    } catch (err) {
      warn('counting a timers/promises timer failed', err);
    }
  }
}

/** The metrics of one registry, declared once and kept for a later enable(). */
class TimerMetrics {
  readonly created: MetricVector<Counter>;
  readonly fired: MetricVector<Counter>;
  readonly cleared: MetricVector<Counter>;
  readonly active: MetricVector<Gauge>;
  readonly callbackTime: MetricVector<RawMetric>;
  readonly callbackMax: MetricVector<Gauge>;
  readonly timeout: KindStats;
  readonly interval: KindStats;
  readonly immediate: KindStats;

  constructor(registry: Registry) {
    const indom = registry.instanceDomain('timers.kinds', {
      instances: KINDS,
      help: 'Kinds of timer: setTimeout, setInterval, setImmediate (also from timers/promises)',
    });
    this.created = registry.counter('timers.created', {
      indom,
      help: 'Timers created (a timeout re-armed by refresh() after it fired counts again)',
    });
    this.fired = registry.counter('timers.fired', {
      indom,
      help: 'Timer callbacks run; an interval counts each firing',
    });
    this.cleared = registry.counter('timers.cleared', {
      indom,
      help: 'Pending timers cleared: clear*(), close(), by id, or aborted (timers/promises)',
    });
    this.active = registry.gauge('timers.active', {
      indom,
      help: 'Timers pending: created and not yet fired or cleared (intervals until cleared); unref()ed ones count too',
    });
    this.callbackTime = registry.metric('timers.callback.time', {
      indom,
      type: 'double',
      semantics: 'counter',
      units: Units.time('msec'),
      help: 'Time spent inside timer callbacks',
    });
    this.callbackMax = registry.gauge('timers.callback.max', {
      indom,
      units: Units.time('msec'),
      help: 'The longest single timer callback since the previous flush',
    });
    this.timeout = new KindStats(this, 'timeout');
    this.interval = new KindStats(this, 'interval');
    this.immediate = new KindStats(this, 'immediate');
  }

  publish(): void {
    this.timeout.publish();
    this.interval.publish();
    this.immediate.publish();
  }
}

const metricsByRegistry = new WeakMap<Registry, TimerMetrics>();

// ---- the state the wrappers read ---------------------------------------------------------

/** The metrics being counted into, or null when no timers instrumentation is enabled. */
let current: TimerMetrics | null = null;
/** The request context, when attribution is on. */
let requests: RequestContext | null = null;
let faultTo: AgentContext['fault'] | null = null;
/** Timers whose primitive id was taken, by id (keys coerce exactly as Node's own table). */
const byId: Record<string, TimerObject | undefined> = Object.create(null);

function warn(what: string, err: unknown): void {
  try {
    faultTo?.(WARN, what, err);
  } catch {
    // a fault handler must not reach the app either
  }
}

function forgetId(timer: TimerObject): void {
  const id = timer[ID];
  if (id !== undefined) {
    timer[ID] = undefined;
    if (byId[id] === timer) delete byId[id];
  }
}

// ---- callbacks: one shared function per kind -----------------------------------------------

/** Counts a firing; returns the request it is attributed to. Never throws. */
function beforeCallback(timer: TimerObject, s: KindStats, once: boolean): RequestState | undefined {
  try {
    if (once) {
      timer[LIVE] = null;
      s.end(s.fired);
      if (timer[ID] !== undefined) forgetId(timer);
    } else {
      s.fired.inc();
    }
    return requests === null ? undefined : requests.current();
  } catch (err) {
    warn('counting a timer callback failed', err);
    return undefined;
  }
}

/** Adds a callback's duration. Never throws. */
function afterCallback(s: KindStats, ms: number, state: RequestState | undefined): void {
  try {
    const sums = s.ms;
    sums[0] += ms;
    if (ms > sums[1]) sums[1] = ms;
    if (state !== undefined) state.timerTime += ms;
  } catch (err) {
    warn('timing a timer callback failed', err);
  }
}

function onTimeout(this: TimerObject): unknown {
  const callback = this[CALLBACK] as Callback;
  const s = this[LIVE];
  if (s == null || current === null) {
    this[LIVE] = null; // fired while disabled: not pending if enabled again
    return apply(callback, this, arguments);
  }
  const state = beforeCallback(this, s, true);
  const t0 = performance.now();
  try {
    return apply(callback, this, arguments);
  } finally {
    afterCallback(s, performance.now() - t0, state);
  }
}

function onInterval(this: TimerObject): unknown {
  const callback = this[CALLBACK] as Callback;
  const s = this[LIVE];
  if (s == null || current === null) return apply(callback, this, arguments);
  const state = beforeCallback(this, s, false);
  const t0 = performance.now();
  try {
    return apply(callback, this, arguments);
  } finally {
    afterCallback(s, performance.now() - t0, state);
  }
}

function onImmediate(this: TimerObject): unknown {
  const callback = this[CALLBACK] as Callback;
  const s = this[LIVE];
  // Node drops an immediate's callback once it ran; so do we.
  this[CALLBACK] = undefined;
  if (s == null || current === null) {
    this[LIVE] = null;
    return apply(callback, this, arguments);
  }
  const state = beforeCallback(this, s, true);
  const t0 = performance.now();
  try {
    return apply(callback, this, arguments);
  } finally {
    afterCallback(s, performance.now() - t0, state);
  }
}

// ---- tracking and clearing ---------------------------------------------------------------

function trackTimeout(timer: unknown, s: KindStats, run: Callback): void {
  try {
    if (typeof timer !== 'object' || timer === null) return;
    const t = timer as TimerObject;
    const callback = t._onTimeout;
    if (typeof callback !== 'function' || t[LIVE] != null) return;
    t[CALLBACK] = callback as Callback;
    t[LIVE] = s;
    t._onTimeout = run;
    s.start();
  } catch (err) {
    warn('tracking a timer failed', err);
  }
}

function trackImmediate(immediate: unknown, s: KindStats): void {
  try {
    if (typeof immediate !== 'object' || immediate === null) return;
    const t = immediate as TimerObject;
    const callback = t._onImmediate;
    if (typeof callback !== 'function' || t[LIVE] != null) return;
    t[CALLBACK] = callback as Callback;
    t[LIVE] = s;
    t._onImmediate = onImmediate;
    s.start();
  } catch (err) {
    warn('tracking an immediate failed', err);
  }
}

/** The pending Timeout (either kind) that clearTimeout(x) would clear, if we track it. */
function pendingTimeout(x: unknown): TimerObject | undefined {
  try {
    let t: TimerObject | undefined;
    if (typeof x === 'object' && x !== null) t = x as TimerObject;
    else if (typeof x === 'number' || typeof x === 'string') t = byId[x];
    if (t === undefined) return undefined;
    const s = t[LIVE];
    return s != null && s.kind !== 'immediate' ? t : undefined;
  } catch (err) {
    warn('looking up a cleared timer failed', err);
    return undefined;
  }
}

function pendingImmediate(x: unknown): TimerObject | undefined {
  try {
    if (typeof x !== 'object' || x === null) return undefined;
    const t = x as TimerObject;
    return t[LIVE] != null && t._onImmediate === onImmediate ? t : undefined;
  } catch (err) {
    warn('looking up a cleared immediate failed', err);
    return undefined;
  }
}

/** After Node's clear: counts it if Node really cleared the timer (it nulls the callback). */
function confirmCleared(t: TimerObject, field: '_onTimeout' | '_onImmediate'): void {
  try {
    const s = t[LIVE];
    const run = t[field];
    if (s == null || run === onTimeout || run === onInterval || run === onImmediate) return;
    t[LIVE] = null;
    t[CALLBACK] = undefined;
    forgetId(t);
    s.end(s.cleared);
  } catch (err) {
    warn('counting a cleared timer failed', err);
  }
}

// ---- timers/promises ---------------------------------------------------------------------

/**
 * Whether timers/promises started a timer for these arguments, or returned a rejection
 * without one: Node's own checks, in its order (invalid delay or options, aborted signal).
 */
function startsTimer(after: unknown, options: unknown, hasDelay: boolean): boolean {
  try {
    if (hasDelay && after !== undefined && typeof after !== 'number') return false;
    if (options === undefined) return true;
    if (options === null || typeof options !== 'object' || Array.isArray(options)) return false;
    const { signal, ref } = options as { signal?: unknown; ref?: unknown };
    if (signal !== undefined) {
      if (signal === null || typeof signal !== 'object' || !('aborted' in signal)) return false;
      if ((signal as { aborted: unknown }).aborted) return false;
    }
    return ref === undefined || typeof ref === 'boolean';
  } catch {
    return false; // a throwing getter: Node rejected too
  }
}

/** A promise of timers/promises: counted when it settles. Returns the promise the app gets. */
function trackPromise(
  promise: unknown,
  s: KindStats,
  after: unknown,
  options: unknown,
  hasDelay: boolean,
): unknown {
  try {
    if (!(promise instanceof Promise) || !startsTimer(after, options, hasDelay)) return promise;
    // One reaction, returned in its place: it settles as the original does, and a rejection
    // nobody handles is still reported (a separate observer would mark it handled).
    const observed = apply(promiseThen, promise, [s.onPromiseFired, s.onPromiseAborted]);
    s.start();
    return observed;
  } catch (err) {
    warn('tracking a timers/promises timer failed', err);
    return promise;
  }
}

interface AsyncIter {
  next(...args: unknown[]): Promise<IteratorResult<unknown>>;
  return(...args: unknown[]): Promise<IteratorResult<unknown>>;
  throw(...args: unknown[]): Promise<IteratorResult<unknown>>;
}

/**
 * timers/promises setInterval: an async generator whose interval starts at the first next()
 * and is cleared when it finishes. Each value it yields counts as one firing.
 */
function trackIterator(iterator: unknown, s: KindStats, after: unknown, options: unknown): void {
  try {
    if (typeof iterator !== 'object' || iterator === null) return;
    const it = iterator as AsyncIter;
    let phase: 'new' | 'pending' | 'done' = 'new';
    const finish = () => {
      if (phase === 'pending') s.end(s.cleared);
      phase = 'done';
    };
    const onResult = (r: IteratorResult<unknown>) => {
      try {
        if (phase === 'pending') {
          if (r.done) finish();
          else s.fired.inc();
        }
      } catch (err) {
        warn('counting a timers/promises interval failed', err);
      }
      return r;
    };
    const onError = (err: unknown): never => {
      finish();
      throw err;
    };
    const wrapMethod = (name: keyof AsyncIter) => {
      const original = it[name];
      Object.defineProperty(it, name, {
        configurable: true,
        writable: true,
        enumerable: false,
        value: function (this: unknown) {
          if (phase === 'new') {
            // The body, with Node's checks, runs at the first next(); return()/throw() first
            // end the generator without starting an interval.
            if (name === 'next' && startsTimer(after, options, true)) {
              phase = 'pending';
              s.start();
            } else {
              phase = 'done';
            }
          }
          const result = apply(original, this, arguments);
          return result instanceof Promise
            ? apply(promiseThen, result, [onResult, onError])
            : result;
        },
      });
    };
    wrapMethod('next');
    wrapMethod('return');
    wrapMethod('throw');
  } catch (err) {
    warn('tracking a timers/promises interval failed', err);
  }
}

// ---- the wrappers ------------------------------------------------------------------------

/** Gives a wrapper its original's name, length and util.promisify.custom. */
function like<F extends Callback>(wrapper: F, original: Callback): F {
  for (const key of Reflect.ownKeys(original)) {
    if (key !== 'name' && key !== 'length' && typeof key !== 'symbol') continue;
    Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(original, key)!);
  }
  Object.defineProperty(wrapper, WRAPPER, { value: true });
  return wrapper;
}

function wrapSetTimeout(original: Callback): Callback {
  return like(function setTimeout(this: unknown) {
    const timer = apply(original, this, arguments);
    if (current !== null) trackTimeout(timer, current.timeout, onTimeout);
    return timer;
  }, original);
}

function wrapSetInterval(original: Callback): Callback {
  return like(function setInterval(this: unknown) {
    const timer = apply(original, this, arguments);
    if (current !== null) trackTimeout(timer, current.interval, onInterval);
    return timer;
  }, original);
}

function wrapSetImmediate(original: Callback): Callback {
  return like(function setImmediate(this: unknown) {
    const immediate = apply(original, this, arguments);
    if (current !== null) trackImmediate(immediate, current.immediate);
    return immediate;
  }, original);
}

/**
 * A wrapper for one way of clearing: clearTimeout/clearInterval/clearImmediate take the timer
 * as their argument; Timeout#close and the [Symbol.dispose] methods act on `this` (Node's
 * internal clearTimeout(this), which the exported functions never see).
 */
function clearing(
  pending: (x: unknown) => TimerObject | undefined,
  field: '_onTimeout' | '_onImmediate',
  ofThis: boolean,
): (original: Callback) => Callback {
  return (original) =>
    like(function (this: unknown, timer: unknown) {
      const t = current === null ? undefined : pending(ofThis ? this : timer);
      const result = apply(original, this, arguments);
      if (t !== undefined) confirmCleared(t, field);
      return result;
    }, original);
}

const wrapClearTimeout = clearing(pendingTimeout, '_onTimeout', false);
const wrapClearImmediate = clearing(pendingImmediate, '_onImmediate', false);
const wrapTimeoutClose = clearing(pendingTimeout, '_onTimeout', true);
const wrapImmediateDispose = clearing(pendingImmediate, '_onImmediate', true);

/** refresh() of a timeout that already fired arms it again: pending once more. */
function wrapRefresh(original: Callback): Callback {
  return like(function refresh(this: TimerObject) {
    const result = apply(original, this, arguments);
    const m = current;
    if (m !== null && this[LIVE] === null) {
      try {
        if (this._onTimeout === onTimeout && this._destroyed === false) {
          this[LIVE] = m.timeout;
          m.timeout.start();
        }
      } catch (err) {
        warn('counting a refreshed timer failed', err);
      }
    }
    return result;
  }, original);
}

/** `+timer`: remembered, so clearTimeout(id) is counted like clearTimeout(timer). */
function wrapToPrimitive(original: Callback): Callback {
  return like(function (this: TimerObject) {
    const id = apply(original, this, arguments);
    if (current !== null && this[LIVE] != null) {
      try {
        this[ID] = id as number;
        byId[id as number] = this;
      } catch (err) {
        warn('remembering a timer id failed', err);
      }
    }
    return id;
  }, original);
}

function wrapPromiseSetTimeout(original: Callback): Callback {
  return like(function setTimeout(
    this: unknown,
    after?: unknown,
    _value?: unknown,
    options?: unknown,
  ) {
    const promise = apply(original, this, arguments);
    return current === null
      ? promise
      : trackPromise(promise, current.timeout, after, options, true);
  }, original);
}

function wrapPromiseSetImmediate(original: Callback): Callback {
  return like(function setImmediate(this: unknown, _value?: unknown, options?: unknown) {
    const promise = apply(original, this, arguments);
    return current === null
      ? promise
      : trackPromise(promise, current.immediate, undefined, options, false);
  }, original);
}

function wrapPromiseSetInterval(original: Callback): Callback {
  return like(function setInterval(
    this: unknown,
    after?: unknown,
    _value?: unknown,
    options?: unknown,
  ) {
    const iterator = apply(original, this, arguments);
    if (current !== null) trackIterator(iterator, current.interval, after, options);
    return iterator;
  }, original);
}

// ---- patching ----------------------------------------------------------------------------

type Patchable = Record<PropertyKey, unknown>;

/**
 * Wraps nodule[key] with shimmer. Returns the undo, which restores the original only if our
 * wrapper is still there (someone who wrapped it after us keeps theirs, and ours passes through).
 */
function wrap(
  nodule: object,
  key: PropertyKey,
  make: (original: Callback) => Callback,
): () => void {
  const target = nodule as Patchable;
  const original = target[key];
  if (typeof original !== 'function' || (original as unknown as Patchable)[WRAPPER] === true) {
    return () => {};
  }
  let wrapper: Callback | undefined;
  shimmer.wrap(target, key, (o) => {
    wrapper = make(o as Callback);
    return wrapper;
  });
  return () => (wrapper as { __unwrap?: () => void } | undefined)?.__unwrap?.();
}

/**
 * globalThis[key]: the same wrapper as timers[key] when both held the same original (as they
 * do at start-up); a wrapper of its own if someone had replaced the global.
 */
function wrapGlobal(
  key: string,
  original: unknown,
  make: (original: Callback) => Callback,
): () => void {
  const g = globalThis as unknown as Patchable;
  const d = Object.getOwnPropertyDescriptor(g, key);
  if (d === undefined || !('value' in d)) return () => {};
  if (d.value !== original) return wrap(g, key, make);
  const wrapper = (timers as unknown as Patchable)[key];
  if (wrapper === original) return () => {};
  Object.defineProperty(g, key, { ...d, value: wrapper });
  return () => {
    if (g[key] === wrapper) Object.defineProperty(g, key, d);
  };
}

function syncEsm(): void {
  // ESM `import { setTimeout } from 'node:timers'` binds to a snapshot; bring it up to date.
  try {
    syncBuiltinESMExports();
  } catch (err) {
    warn('updating ESM bindings of timers failed', err);
  }
}

/**
 * The prototypes of Timeout and Immediate (Node does not export the classes), or {} where
 * timers were replaced by something else (fake timers) that returns other objects.
 */
function prototypes(): { timeout: object; immediate: object } {
  const t = timers.setTimeout(() => {}, 1);
  timers.clearTimeout(t);
  const i = timers.setImmediate(() => {});
  timers.clearImmediate(i);
  const timeout = Object.getPrototypeOf(t) as Patchable | null;
  const immediate = Object.getPrototypeOf(i) as Patchable | null;
  return {
    timeout:
      typeof timeout?.refresh === 'function' && typeof timeout[Symbol.toPrimitive] === 'function'
        ? timeout
        : {},
    immediate: typeof immediate?.hasRef === 'function' && 'ref' in immediate ? immediate : {},
  };
}

function patchAll(): (() => void)[] {
  const undo: (() => void)[] = [];
  const dispose = (Symbol as unknown as { dispose?: symbol }).dispose;
  try {
    // Prototypes first, with the original exports; then the exports, then the globals.
    const proto = prototypes();
    undo.push(wrap(proto.timeout, 'close', wrapTimeoutClose));
    undo.push(wrap(proto.timeout, 'refresh', wrapRefresh));
    undo.push(wrap(proto.timeout, Symbol.toPrimitive, wrapToPrimitive));
    if (dispose !== undefined) {
      undo.push(wrap(proto.timeout, dispose, wrapTimeoutClose));
      undo.push(wrap(proto.immediate, dispose, wrapImmediateDispose));
    }
    const exported: [string, (original: Callback) => Callback][] = [
      ['setTimeout', wrapSetTimeout],
      ['setInterval', wrapSetInterval],
      ['setImmediate', wrapSetImmediate],
      ['clearTimeout', wrapClearTimeout],
      ['clearInterval', wrapClearTimeout],
      ['clearImmediate', wrapClearImmediate],
    ];
    const originals = timers as unknown as Patchable;
    const before = new Map(exported.map(([key]) => [key, originals[key]]));
    for (const [key, make] of exported) undo.push(wrap(timers, key, make));
    for (const [key, make] of exported) undo.push(wrapGlobal(key, before.get(key), make));
    undo.push(wrap(timersPromises, 'setTimeout', wrapPromiseSetTimeout));
    undo.push(wrap(timersPromises, 'setImmediate', wrapPromiseSetImmediate));
    undo.push(wrap(timersPromises, 'setInterval', wrapPromiseSetInterval));
    syncEsm();
    return undo;
  } catch (err) {
    unpatchAll(undo);
    throw err;
  }
}

function unpatchAll(undo: (() => void)[]): void {
  // Globals first, in reverse: each restores what was there before it.
  for (let i = undo.length - 1; i >= 0; i--) {
    try {
      undo[i]();
    } catch (err) {
      warn('removing a timers patch failed', err);
    }
  }
  syncEsm();
}

// ---- the instrumentation -----------------------------------------------------------------

/**
 * `timers.*` over the instance domain `timers.kinds` (timeout, interval, immediate):
 * created, fired, cleared (counters), active (instant), callback.time (counter, msec) and
 * callback.max (instant, msec, the longest callback since the previous flush).
 */
export function timersInstrumentation(): Instrumentation {
  let undo: (() => void)[] | null = null;
  let unsubscribe: (() => void) | null = null;
  return {
    name: 'timers',
    enable(ctx: AgentContext): void {
      if (undo !== null) return;
      if (current !== null || (timers.setTimeout as unknown as Patchable)[WRAPPER] === true) {
        ctx.fault(
          WARN,
          'timers are already instrumented; a second timers instrumentation was not enabled',
        );
        return;
      }
      try {
        let metrics = metricsByRegistry.get(ctx.registry);
        if (metrics === undefined) {
          metrics = new TimerMetrics(ctx.registry);
          metricsByRegistry.set(ctx.registry, metrics);
        }
        const m = metrics;
        current = m;
        requests = ctx.requests.enabled ? ctx.requests : null;
        faultTo = (code, what, err) => ctx.fault(code, what, err);
        unsubscribe = ctx.registry.beforeFlush(() => m.publish());
        undo = patchAll();
      } catch (err) {
        unsubscribe?.();
        unsubscribe = null;
        current = null;
        requests = null;
        faultTo = null;
        undo = null;
        ctx.fault(WARN, 'timers could not be instrumented', err);
      }
    },
    disable(): void {
      if (undo === null) return;
      unpatchAll(undo);
      undo = null;
      try {
        current?.publish(); // the callback time so far reaches the file at the next flush
      } catch (err) {
        warn('publishing timer callback times failed', err);
      }
      unsubscribe?.();
      unsubscribe = null;
      // Timers still pending fire through their shared callback but are no longer counted.
      for (const id of Object.keys(byId)) delete byId[id];
      current = null;
      requests = null;
      faultTo = null;
    },
  };
}
