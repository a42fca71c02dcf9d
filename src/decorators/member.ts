// One decorated member: its metric name (`methods.<Class>.<member>` unless named), its
// registration once the class is known, and the sinks its calls record into.

import { PcpAgentError, quote, warnOnce } from '../errors';
import { Units } from '../mmv/units';
import { defaultRegistry } from '../registry/default';
import type { InstanceDomain } from '../registry/instance-domain';
import { OVERFLOW_INSTANCE } from '../registry/instance-domain';
import type { Counter, CounterOptions } from '../registry/kinds/counter';
import type { Histogram } from '../registry/kinds/histogram';
import { HistogramFamily, histogramConfig } from '../registry/kinds/histogram';
import { FROM_MS, type Timer } from '../registry/kinds/timer';
import type { MetricVector } from '../registry/metric';
import type { Registry } from '../registry/registry';
import { GaugeSampler } from './gauge';
import {
  addClassMetric,
  type ClassLike,
  type DecoratedMetric,
  defineMemberMetadata,
} from './metadata';
import { type AnyDecoratorOptions, atSite, DECORATOR_NAMES, type DecoratorKind } from './options';
import { CountSink, DurationSink, NO_SINK, type Sink } from './sinks';

/** The prefix of default names: `methods.<Class>.<member>`. */
export const DEFAULT_PREFIX = 'methods';

/** Where calls go whose `instance` option gave no usable name. */
export const INVALID_INSTANCE = '_invalid';

const MAX_PART = 64;

/** Any text as one part of a PCP name: `#secret` → `secret`, `[Symbol.iterator]` → `Symbol_iterator`. */
export function namePart(text: string): string {
  let s = text.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (s === '') return 'anonymous';
  if (!/^[A-Za-z]/.test(s)) s = `m_${s}`;
  return s.slice(0, MAX_PART).replace(/_+$/, '');
}

/** A member as written in the class: `checkout`, `#secret`, `[id]` for a symbol. */
export function memberLabel(key: string | symbol): string {
  return typeof key === 'symbol' ? `[${key.description ?? 'symbol'}]` : key;
}

/** The metrics one name stands for in one registry: shared by members that declare it alike. */
interface Shared {
  kind: DecoratorKind;
  /** `Class.member` (and `static`) of the first member that declared it. */
  owner: string;
  signature: string;
  metrics: string[];
  sink: Sink;
  sinks: InstanceSinks | null;
  sampler: GaugeSampler | null;
}

const registered = new WeakMap<Registry, Map<string, Shared>>();

/** Sinks by instance name, for members whose calls choose their instance. */
export class InstanceSinks {
  private readonly cache = new Map<string, Sink>();
  private overflow: Sink | undefined;
  private invalid: Sink | undefined;

  constructor(
    private readonly domain: InstanceDomain,
    private readonly make: (instance: string) => Sink,
    private readonly registry: Registry,
    private readonly where: string,
  ) {}

  /** The sink for an instance name; never throws. */
  get(name: unknown): Sink {
    if (typeof name === 'string') {
      const sink = this.cache.get(name);
      if (sink !== undefined) return sink;
      return this.miss(name);
    }
    this.report(
      `the instance option threw or gave ${quote(name)}, not a string; counted under ${INVALID_INSTANCE}`,
    );
    return this.invalidSink();
  }

  private miss(name: string): Sink {
    let index: number;
    try {
      index = this.domain.resolve(name);
    } catch (err) {
      this.report(
        `instance name ${quote(name)} cannot be used; counted under ${INVALID_INSTANCE}`,
        err,
      );
      return this.invalidSink();
    }
    try {
      if (index >= 0 && this.domain.indexOf(name) === index) {
        const sink = this.make(name);
        this.cache.set(name, sink);
        return sink;
      }
      // Past the cap: every new name shares the overflow instance (counted by the registry).
      this.overflow ??= index >= 0 ? this.make(OVERFLOW_INSTANCE) : NO_SINK;
      return this.overflow;
    } catch (err) {
      this.report(`instance ${quote(name)} could not be added; not counted`, err);
      return NO_SINK;
    }
  }

  private invalidSink(): Sink {
    if (this.invalid === undefined) {
      try {
        this.invalid = this.make(INVALID_INSTANCE);
      } catch {
        this.invalid = NO_SINK;
      }
    }
    return this.invalid;
  }

  private report(what: string, err?: unknown): void {
    this.registry.reportError('PCP_AGENT_WARN_DECORATOR_INSTANCE', `${this.where}: ${what}`, err);
  }
}

/** One decorated member of a class (or of a class to come: standard decorators). */
export class DecoratedMember {
  /** Where the member's calls go: its singleton sink, until registered NO_SINK. */
  sink: Sink = NO_SINK;
  /** Per-instance sinks, with the `instance` option. */
  sinks: InstanceSinks | null = null;
  definition: DecoratedMetric | undefined;
  /** The gauge's sampler, once registered (@Gauge only). */
  sampler: GaugeSampler | null = null;
  readonly label: string;
  readonly instanceOf: ((...args: unknown[]) => unknown) | undefined;
  private bound = false;

  constructor(
    readonly kind: DecoratorKind,
    readonly options: AnyDecoratorOptions,
    readonly key: string | symbol,
    readonly isStatic: boolean,
    isPrivate: boolean,
    /** The member of ours this one's method already was (decorators stacked on one method). */
    private readonly wraps?: DecoratedMember,
  ) {
    this.label =
      isPrivate && typeof key === 'string' && !key.startsWith('#') ? `#${key}` : memberLabel(key);
    this.instanceOf = options.instance as ((...args: unknown[]) => unknown) | undefined;
  }

  get isBound(): boolean {
    return this.bound;
  }

  /** `@Timer on Shop.checkout`, for messages. */
  where(className: string | undefined): string {
    const owner = className === undefined ? '' : `${className}.`;
    return `${DECORATOR_NAMES[this.kind]} on ${owner}${this.isStatic ? 'static ' : ''}${this.label}`;
  }

  /**
   * Registers the member's metrics now that its class is known. Throws a PcpAgentError naming
   * the member when the metrics cannot exist (a clash, a full file) while the class is being
   * defined; later (`deferred`: standard decorators bound when a first instance is made) it
   * warns once and records nothing, since throwing would break the app's constructor.
   * `legacyTarget` (experimentalDecorators) also gets the definition as reflect-metadata.
   */
  bind(cls: ClassLike, deferred: boolean, legacyTarget?: object): void {
    if (this.bound) return;
    this.bound = true;
    const className = typeof cls.name === 'string' && cls.name !== '' ? cls.name : 'anonymous';
    const where = this.where(className);
    const name = this.nameIn(className);
    let shared: Shared;
    try {
      if (this.wraps !== undefined && this.wraps.nameIn(className) === name) {
        throw new PcpAgentError(
          'PCP_AGENT_ERR_DUPLICATE',
          `the method already has ${DECORATOR_NAMES[this.wraps.kind]} under the name ${quote(name)}; @Counter, @Timer and @Histogram each count calls and errors, so one is enough (or give one a name)`,
        );
      }
      shared = this.register(
        name,
        `${className}.${this.isStatic ? 'static ' : ''}${this.label}`,
        where,
      );
    } catch (err) {
      const error = atSite(where, err);
      if (!deferred) throw error;
      warnOnce(
        'PCP_AGENT_WARN_DECORATOR',
        `pcp-agent: ${error instanceof Error ? error.message : String(error)}; its calls are not recorded`,
        where,
      );
      return;
    }
    this.sink = shared.sink;
    this.sinks = shared.sinks;
    this.sampler = shared.sampler;
    const definition: DecoratedMetric = Object.freeze({
      kind: this.kind,
      className,
      member: this.label,
      static: this.isStatic,
      name,
      metrics: Object.freeze([...shared.metrics]),
      perInstance: this.instanceOf !== undefined,
      help: this.options.help,
    });
    this.definition = definition;
    addClassMetric(cls, definition);
    if (legacyTarget !== undefined) defineMemberMetadata(legacyTarget, this.key, definition);
  }

  /** The metric name in a class of this name. */
  nameIn(className: string): string {
    return this.options.name ?? `${DEFAULT_PREFIX}.${namePart(className)}.${namePart(this.label)}`;
  }

  private register(name: string, owner: string, where: string): Shared {
    const registry = this.options.registry ?? defaultRegistry();
    let byName = registered.get(registry);
    if (byName === undefined) {
      byName = new Map();
      registered.set(registry, byName);
    }
    const signature = signatureOf(this.kind, this.options);
    const existing = byName.get(name);
    if (existing !== undefined) {
      if (
        existing.kind === this.kind &&
        existing.signature === signature &&
        existing.owner === owner
      ) {
        return existing; // the same class defined again (a factory, a second copy of a module)
      }
      const same = existing.owner === owner;
      throw new PcpAgentError(
        'PCP_AGENT_ERR_DUPLICATE',
        `metric name ${quote(name)} is already used by ${DECORATOR_NAMES[existing.kind]} on ${existing.owner}${same && existing.kind === this.kind ? ' with other options' : ''}; give one of them another name${same ? ' (@Counter, @Timer and @Histogram each count calls and errors: one per method is enough)' : ''}`,
      );
    }
    const shared = this.create(registry, name, owner, signature, where);
    byName.set(name, shared);
    return shared;
  }

  private create(
    registry: Registry,
    name: string,
    owner: string,
    signature: string,
    where: string,
  ): Shared {
    const o = this.options;
    const perInstance = this.instanceOf !== undefined;
    const common = { longHelp: o.longHelp, labels: o.labels };
    const subject = owner;
    const shared: Shared = {
      kind: this.kind,
      owner,
      signature,
      metrics: [],
      sink: NO_SINK,
      sinks: null,
      sampler: null,
    };
    if (this.kind === 'gauge') {
      const sampler = new GaugeSampler(registry, name, o, `${DECORATOR_NAMES.gauge} on ${owner}`);
      shared.metrics.push(name);
      shared.sampler = sampler;
      return shared;
    }
    const domain = perInstance
      ? registry.instanceDomain(name, {
          instances: o.instances ?? [],
          help: `Instances of ${subject}`,
        })
      : undefined;
    const errorsHelp = o.help ? `${o.help} (errors)` : `Calls of ${subject} that threw or rejected`;
    let make: (instance: number | string) => Sink;
    if (this.kind === 'counter') {
      const help = o.help ?? `Calls of ${subject} completed (returned, resolved or threw)`;
      const calls = counterOf(registry, `${name}.count`, { help, ...common }, domain);
      const errors = counterOf(registry, `${name}.errors`, { help: errorsHelp, ...common }, domain);
      shared.metrics.push(`${name}.count`, `${name}.errors`);
      make = (i) => new CountSink(handle(calls, i), handle(errors, i));
    } else if (this.kind === 'timer') {
      const unit = o.unit ?? 'msec';
      const help = o.help ?? `Calls of ${subject}: completed, and time in them`;
      const options = { help, unit, ...common };
      const timer = domain
        ? registry.timer(name, { ...options, indom: domain })
        : registry.timer(name, options);
      const errors = counterOf(registry, `${name}.errors`, { help: errorsHelp, ...common }, domain);
      shared.metrics.push(`${name}.count`, `${name}.time`, `${name}.errors`);
      make = (i) => new DurationSink(handle(timer, i), handle(errors, i), FROM_MS[unit]);
    } else {
      const unit = o.unit ?? 'msec';
      const options = {
        help: o.help ?? `Durations of calls of ${subject}`,
        units: Units.time(unit),
        buckets: o.buckets,
        percentiles: o.percentiles,
        window: o.window,
        ...common,
      };
      const histogram = domain
        ? registry.histogram(name, { ...options, indom: domain })
        : registry.histogram(name, options);
      const errors = counterOf(registry, `${name}.errors`, { help: errorsHelp, ...common }, domain);
      for (const spec of HistogramFamily.specs(options, histogramConfig(options, name))) {
        shared.metrics.push(name + spec.suffix);
      }
      shared.metrics.push(`${name}.errors`);
      make = (i) => new DurationSink(handle(histogram, i), handle(errors, i), FROM_MS[unit]);
    }
    if (domain === undefined) shared.sink = make(0);
    else shared.sinks = new InstanceSinks(domain, (instance) => make(instance), registry, where);
    return shared;
  }
}

type Handle = Counter | Timer | Histogram;

function handle<H extends Handle>(m: H | MetricVector<H>, instance: number | string): H {
  return typeof instance === 'string' ? (m as MetricVector<H>).instance(instance) : (m as H);
}

/** What makes two declarations of one name the same metrics. */
function signatureOf(kind: DecoratorKind, o: AnyDecoratorOptions): string {
  return JSON.stringify([
    kind,
    o.help,
    o.longHelp,
    o.labels,
    o.unit,
    o.units,
    o.semantics,
    o.buckets,
    o.percentiles,
    o.window,
    o.instances,
    o.instance !== undefined,
  ]);
}

function counterOf(
  registry: Registry,
  name: string,
  options: CounterOptions,
  domain: InstanceDomain | undefined,
): Counter | MetricVector<Counter> {
  return domain
    ? registry.counter(name, { ...options, indom: domain })
    : registry.counter(name, options);
}
