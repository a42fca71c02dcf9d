// @Counter, @Timer, @Histogram and @Gauge: one function per decorator for both decorator
// systems (TypeScript's experimentalDecorators and standard ones), told apart by how it is called.

// biome-ignore-all lint/complexity/noArguments: how many arguments a decorator got is what tells `@Timer()` from `@Timer` and the two decorator systems apart.

import { PcpAgentError, quote } from '../errors';
import type { Counter as CounterHandle } from '../registry/kinds/counter';
import type { Gauge as GaugeHandle } from '../registry/kinds/gauge';
import type { Histogram as HistogramHandle } from '../registry/kinds/histogram';
import type { Timer as TimerHandle } from '../registry/kinds/timer';
import type { Read } from './gauge';
import { DecoratedMember, namePart } from './member';
import { type ClassLike, type DecoratedMetric, ownClassMetrics } from './metadata';
import {
  type AnyDecoratorOptions,
  type CounterDecoratorOptions,
  checkOptions,
  DECORATOR_NAMES,
  type DecoratorKind,
  type GaugeDecoratorOptions,
  type HistogramDecoratorOptions,
  type TimerDecoratorOptions,
} from './options';
import { wrapMethod, wrapperMember } from './wrap';

/**
 * A decorator of pcp-agent: on a class (its methods), a method, or (@Gauge) a property,
 * getter or accessor; with `experimentalDecorators` or standard decorators alike.
 */
export interface MetricDecorator {
  /** experimentalDecorators, on a class. */
  (target: abstract new (...args: never) => unknown): void;
  /** experimentalDecorators, on a method, property or accessor. */
  (target: object, key: string | symbol, descriptor?: PropertyDescriptor): void;
  /** Standard decorators (TypeScript 5+ without experimentalDecorators). */
  (value: unknown, context: DecoratorContext): void;
}

// A decorator and the metric handle of the same kind share a name, as in the rest of the
// library: `Counter` is the decorator as a value and the handle as a type.
export type Counter = CounterHandle;
export type Timer = TimerHandle;
export type Histogram = HistogramHandle;
export type Gauge = GaugeHandle;

/**
 * Counts calls of a method (or of every method of a class): `<name>.count` completed calls,
 * `<name>.errors` those that threw or whose promise rejected.
 */
export function Counter(options?: CounterDecoratorOptions): MetricDecorator {
  return decorator('counter', options, arguments.length);
}

/**
 * Times each call of a method (or of every method of a class): `<name>.count`, `<name>.time`
 * (sync calls until they return or throw, promises until they settle), `<name>.errors`.
 */
export function Timer(options?: TimerDecoratorOptions): MetricDecorator {
  return decorator('timer', options, arguments.length);
}

/**
 * The distribution of a method's durations: `<name>.count`, `.sum`, `.min`, `.max`,
 * percentiles, buckets (see Histogram), and `<name>.errors`.
 */
export function Histogram(options?: HistogramDecoratorOptions): MetricDecorator {
  return decorator('histogram', options, arguments.length);
}

/**
 * A property, getter or accessor read at each flush (a polled value): from the class for a
 * static member, from every live object of the class for an instance member (standard
 * decorators only), summed.
 */
export function Gauge(options?: GaugeDecoratorOptions): MetricDecorator {
  return decorator('gauge', options, arguments.length);
}

type Fn = (...args: unknown[]) => unknown;

interface StandardContext {
  kind: 'class' | 'method' | 'getter' | 'setter' | 'field' | 'accessor';
  name: string | symbol | undefined;
  static?: boolean;
  private?: boolean;
  access?: { get?(target: object): unknown };
  addInitializer?(fn: (this: unknown) => void): void;
  metadata?: object;
}

function decorator(
  kind: DecoratorKind,
  options: AnyDecoratorOptions | undefined,
  argumentCount: number,
): MetricDecorator {
  if (argumentCount > 1 || typeof options === 'function') {
    // `@Timer` without parentheses: the decorator was called as the factory.
    throw new PcpAgentError(
      'PCP_AGENT_ERR_OPTION',
      `${DECORATOR_NAMES[kind]} must be called: write ${DECORATOR_NAMES[kind]}(), not ${DECORATOR_NAMES[kind]}`,
    );
  }
  const o = checkOptions(kind, options);
  return function decorate(target: unknown, key?: unknown, descriptor?: unknown): unknown {
    if (isStandardContext(key)) return standard(kind, o, target, key);
    if (key === undefined && typeof target === 'function' && arguments.length <= 1) {
      applyToClass(kind, o, target as ClassLike, false);
      return undefined;
    }
    if ((typeof key === 'string' || typeof key === 'symbol') && typeof descriptor !== 'number') {
      return legacyMember(
        kind,
        o,
        target as object,
        key,
        descriptor as PropertyDescriptor | undefined,
      );
    }
    throw siteError(
      kind,
      undefined,
      'goes on a class, a method, a property or an accessor, not on a parameter',
    );
  } as MetricDecorator;
}

function isStandardContext(x: unknown): x is StandardContext {
  return typeof x === 'object' && x !== null && typeof (x as StandardContext).kind === 'string';
}

function siteError(kind: DecoratorKind, where: string | undefined, message: string): PcpAgentError {
  return new PcpAgentError(
    'PCP_AGENT_ERR_OPTION',
    `${DECORATOR_NAMES[kind]}${where === undefined ? '' : ` on ${where}`} ${message}`,
  );
}

function memberWhere(cls: ClassLike | undefined, isStatic: boolean, key: unknown): string {
  const owner = cls?.name ? `${cls.name}.` : '';
  return `${owner}${isStatic ? 'static ' : ''}${typeof key === 'symbol' ? `[${key.description}]` : String(key)}`;
}

// ---- experimentalDecorators ------------------------------------------------------------

function legacyMember(
  kind: DecoratorKind,
  o: AnyDecoratorOptions,
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor | undefined,
): PropertyDescriptor | undefined {
  const isStatic = typeof target === 'function';
  const cls = (isStatic ? target : target.constructor) as ClassLike;
  const method = descriptor !== undefined && typeof descriptor.value === 'function';
  const where = memberWhere(cls, isStatic, key);
  if (kind === 'gauge') {
    if (method)
      throw siteError(
        kind,
        where,
        'goes on a property, getter or accessor; for a method use @Counter, @Timer or @Histogram',
      );
    if (!isStatic) {
      throw siteError(
        kind,
        where,
        "on an instance member needs standard decorators: experimentalDecorators give a property decorator no way to the class's objects. Put it on a static member, or compile without experimentalDecorators",
      );
    }
    const m = new DecoratedMember(kind, o, key, true, false);
    m.bind(cls, false, target);
    m.sampler?.addClass(cls, (t) => Reflect.get(t, key));
    return descriptor;
  }
  if (!method)
    throw siteError(kind, where, 'goes on a method or a class, not on a property or accessor');
  const original = (descriptor as PropertyDescriptor).value as Fn;
  const m = new DecoratedMember(kind, o, key, isStatic, false, wrapperMember(original));
  m.bind(cls, false, target);
  return { ...descriptor, value: wrapMethod(original, m) };
}

// ---- on a class: every method ----------------------------------------------------------

/**
 * Decorates each method the class declares (instance and static, string-named, declared with
 * method syntax) that has no decorator of ours of its own; `name` is then the prefix each
 * method's name is added to. Members decorated on their own are registered now too.
 */
function applyToClass(
  kind: DecoratorKind,
  o: AnyDecoratorOptions,
  cls: ClassLike,
  deferred: boolean,
): void {
  if (kind === 'gauge')
    throw siteError(kind, cls.name, 'goes on a property, getter or accessor, not on a class');
  for (const [target, isStatic] of [
    [cls.prototype as object, false],
    [cls, true],
  ] as const) {
    for (const key of Reflect.ownKeys(target)) {
      if (typeof key !== 'string' || (!isStatic && key === 'constructor')) continue;
      const d = Object.getOwnPropertyDescriptor(target, key);
      if (d === undefined || typeof d.value !== 'function' || d.enumerable || !d.writable) continue;
      if (wrapperMember(d.value) !== undefined) continue;
      const options = o.name === undefined ? o : { ...o, name: `${o.name}.${namePart(key)}` };
      const m = new DecoratedMember(kind, options, key, isStatic, false);
      m.bind(cls, deferred, target);
      Object.defineProperty(target, key, { ...d, value: wrapMethod(d.value as Fn, m) });
    }
  }
  bindPending(cls, deferred);
}

/** Members of a class decorated with standard decorators, waiting for their class. */
const pendingOf = new WeakMap<object, DecoratedMember[]>();
const PENDING = Symbol('pcp-agent.pendingMembers');
/** Symbol.metadata, where the runtime (or a polyfill) has it: standard decorators' metadata. */
const METADATA: symbol | undefined = (Symbol as { metadata?: symbol }).metadata;

/** Getters and accessors decorated with @Gauge (standard): found on the prototype later. */
const gaugeFunctions = new WeakMap<object, DecoratedMember>();

/**
 * Registers the standard-decorated members of a class not yet registered (their class was not
 * known when they were decorated): those found on its prototype, and those in its metadata.
 */
function bindPending(cls: ClassLike, deferred: boolean): void {
  for (const [target, isStatic] of [
    [cls.prototype as object | undefined, false],
    [cls, true],
  ] as const) {
    if (typeof target !== 'object' && typeof target !== 'function') continue;
    if (target === null) continue;
    for (const key of Reflect.ownKeys(target)) {
      const d = Object.getOwnPropertyDescriptor(target, key);
      if (d === undefined) continue;
      for (const fn of [d.value, d.get]) {
        if (typeof fn !== 'function') continue;
        const m = wrapperMember(fn) ?? gaugeFunctions.get(fn);
        if (m !== undefined && !m.isBound && m.isStatic === isStatic) m.bind(cls, deferred);
      }
    }
  }
  const metadata =
    METADATA === undefined ? undefined : (cls as unknown as Record<symbol, unknown>)[METADATA];
  if (typeof metadata === 'object' && metadata !== null && Object.hasOwn(metadata, PENDING)) {
    for (const m of pendingOf.get(metadata) ?? []) if (!m.isBound) m.bind(cls, deferred);
  }
}

// ---- standard decorators ---------------------------------------------------------------

function standard(
  kind: DecoratorKind,
  o: AnyDecoratorOptions,
  value: unknown,
  context: StandardContext,
): unknown {
  const key = context.name as string | symbol;
  const isStatic = context.static === true;
  const where = memberWhere(undefined, isStatic, key);
  switch (context.kind) {
    case 'class':
      applyToClass(kind, o, value as ClassLike, false);
      return undefined;
    case 'method': {
      if (kind === 'gauge')
        throw siteError(
          kind,
          where,
          'goes on a property, getter or accessor; for a method use @Counter, @Timer or @Histogram',
        );
      const m = new DecoratedMember(
        kind,
        o,
        key,
        isStatic,
        context.private === true,
        wrapperMember(value),
      );
      const wrapper = wrapMethod(value as Fn, m);
      remember(context, m);
      context.addInitializer?.(
        isStatic
          ? function (this: unknown) {
              m.bind(this as ClassLike, false);
            }
          : function (this: unknown) {
              if (!m.isBound) m.bind(classOf(this as object, key, wrapper), true);
            },
      );
      return wrapper;
    }
    case 'getter':
    case 'field':
    case 'accessor': {
      if (kind !== 'gauge')
        throw siteError(
          kind,
          where,
          'goes on a method or a class; on a property, getter or accessor use @Gauge',
        );
      const m = new DecoratedMember(kind, o, key, isStatic, context.private === true);
      const access = context.access;
      // access.get reaches private members too (`#x`), which Reflect.get cannot.
      const read: Read = access?.get ? (t) => access.get?.(t) : (t) => Reflect.get(t, key);
      const marker =
        context.kind === 'getter'
          ? value
          : context.kind === 'accessor'
            ? (value as { get?: unknown }).get
            : undefined;
      if (typeof marker === 'function') gaugeFunctions.set(marker, m);
      remember(context, m);
      let track: ((target: object) => void) | undefined;
      context.addInitializer?.(
        isStatic
          ? function (this: unknown) {
              m.bind(this as ClassLike, false);
              m.sampler?.addClass(this as object, read);
            }
          : function (this: unknown) {
              if (!m.isBound) m.bind(classOf(this as object, key, marker), true);
              if (track === undefined && m.sampler !== null) track = m.sampler.addInstances(read);
              track?.(this as object);
            },
      );
      return undefined;
    }
    default:
      throw siteError(kind, where, `cannot decorate a ${context.kind}`);
  }
}

/** Keeps a member in its class's metadata (where Symbol.metadata exists) until it is bound. */
function remember(context: StandardContext, m: DecoratedMember): void {
  const metadata = context.metadata;
  if (typeof metadata !== 'object' || metadata === null) return;
  if (!Object.hasOwn(metadata, PENDING)) {
    Object.defineProperty(metadata, PENDING, { value: true });
    pendingOf.set(metadata, []);
  }
  pendingOf.get(metadata)?.push(m);
}

/**
 * The class declaring a member, from an object being constructed: the one in its prototype
 * chain that holds the member's function (so a subclass's object finds the superclass that
 * declares it); else, for fields and private members, the object's own class.
 */
function classOf(target: object, key: string | symbol, fn: unknown): ClassLike {
  if (typeof fn === 'function') {
    for (let p = Object.getPrototypeOf(target); p !== null; p = Object.getPrototypeOf(p)) {
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (d !== undefined && (d.value === fn || d.get === fn)) return p.constructor;
    }
  }
  return target.constructor as ClassLike;
}

// ---- listing ---------------------------------------------------------------------------

/**
 * The metrics of a class's decorated members: its own, then those it inherits and does not
 * override. With standard decorators, members not yet registered (their class is known only
 * once an object is made) are registered now.
 */
export function decoratedMetrics(cls: ClassLike): DecoratedMetric[] {
  if (typeof cls !== 'function') {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_OPTION',
      `decoratedMetrics() takes a class, got ${quote(cls)}`,
    );
  }
  const out: DecoratedMetric[] = [];
  const shadowed = new Set<string>();
  for (
    let c: unknown = cls;
    typeof c === 'function' && c !== Function.prototype;
    c = Object.getPrototypeOf(c)
  ) {
    const k = c as ClassLike;
    bindPending(k, true);
    for (const d of ownClassMetrics(k)) if (!shadowed.has(`${d.static}:${d.member}`)) out.push(d);
    for (const [target, isStatic] of [
      [k.prototype as object | undefined, false],
      [k, true],
    ] as const) {
      if (target === undefined || target === null) continue;
      for (const key of Reflect.ownKeys(target)) {
        shadowed.add(
          `${isStatic}:${typeof key === 'symbol' ? `[${key.description ?? 'symbol'}]` : key}`,
        );
      }
    }
  }
  return out;
}
