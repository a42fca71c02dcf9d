// @Gauge's values: read from a class (static members) or from every live object of it
// (instance members, held weakly) before each flush, and summed, per instance if asked.

import { quote } from '../errors';
import type { Gauge } from '../registry/kinds/gauge';
import type { MetricVector } from '../registry/metric';
import type { Registry } from '../registry/registry';
import { checkInstanceName } from '../registry/validate';
import type { AnyDecoratorOptions } from './options';

/** Reads a member's value from a class or an object. */
export type Read = (target: object) => unknown;

/** The objects one decorated member is read from. */
class Source {
  private readonly objects = new Set<WeakRef<object>>();

  constructor(
    readonly read: Read,
    /** The class, for a static member; instance members track objects instead. */
    private readonly fixed: object | undefined,
  ) {}

  track(target: object): void {
    this.objects.add(new WeakRef(target));
  }

  forEach(fn: (target: object) => void): void {
    if (this.fixed !== undefined) {
      fn(this.fixed);
      return;
    }
    for (const ref of this.objects) {
      const target = ref.deref();
      if (target === undefined) this.objects.delete(ref);
      else fn(target);
    }
  }
}

export class GaugeSampler {
  private readonly single: Gauge | null;
  private readonly vector: MetricVector<Gauge> | null;
  private readonly sources: Source[] = [];
  private readonly instanceOf: ((target: unknown) => unknown) | undefined;
  /** Instances that were given a value: set to 0 when no object names them any more. */
  private readonly named = new Set<string>();

  constructor(
    private readonly registry: Registry,
    name: string,
    o: AnyDecoratorOptions,
    private readonly where: string,
  ) {
    const options = {
      help: o.help ?? `Value of ${where.replace(/^@Gauge on /, '')}, read at each flush`,
      longHelp: o.longHelp,
      labels: o.labels,
      units: o.units,
      semantics: o.semantics,
    };
    this.instanceOf = o.instance as ((target: unknown) => unknown) | undefined;
    if (this.instanceOf !== undefined) {
      this.vector = registry.gauge(name, { ...options, indom: o.instances ?? [] });
      this.single = null;
    } else {
      this.single = registry.gauge(name, options);
      this.vector = null;
    }
    registry.beforeFlush(() => this.sample());
  }

  /** A static member: read from its class. */
  addClass(cls: object, read: Read): void {
    this.sources.push(new Source(read, cls));
  }

  /** An instance member: read from each object passed to the returned track(). */
  addInstances(read: Read): (target: object) => void {
    const source = new Source(read, undefined);
    this.sources.push(source);
    return (target) => source.track(target);
  }

  /** Before each flush: every object's value, summed (per instance name). */
  sample(): void {
    if (this.single !== null) {
      let sum = 0;
      for (const source of this.sources) {
        source.forEach((target) => {
          sum += this.value(source.read, target);
        });
      }
      this.single.set(sum);
      return;
    }
    const sums = new Map<string, number>();
    for (const source of this.sources) {
      source.forEach((target) => {
        const name = this.instanceName(target);
        if (name !== undefined)
          sums.set(name, (sums.get(name) ?? 0) + this.value(source.read, target));
      });
    }
    for (const name of this.named) if (!sums.has(name)) sums.set(name, 0);
    for (const [name, sum] of sums) {
      try {
        this.vector?.instance(name).set(sum);
        this.named.add(name);
      } catch (err) {
        this.registry.reportError(
          'PCP_AGENT_WARN_GAUGE',
          `${this.where}: instance ${quote(name)}`,
          err,
        );
      }
    }
  }

  /** A value as a number: numbers, booleans (1/0) and bigints; anything else counts 0. */
  private value(read: Read, target: object): number {
    let v: unknown;
    try {
      v = read(target);
    } catch (err) {
      this.registry.reportError(
        'PCP_AGENT_WARN_GAUGE',
        `${this.where}: reading the value threw`,
        err,
      );
      return 0;
    }
    if (typeof v === 'number') return Number.isFinite(v) ? v : 0;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'bigint') return Number(v);
    return 0;
  }

  private instanceName(target: object): string | undefined {
    try {
      const name = (this.instanceOf as (target: unknown) => unknown)(target);
      if (typeof name !== 'string') throw new TypeError(`got ${quote(name)}, not a string`);
      checkInstanceName(name);
      return name;
    } catch (err) {
      this.registry.reportError(
        'PCP_AGENT_WARN_GAUGE',
        `${this.where}: the instance option failed`,
        err,
      );
      return undefined;
    }
  }
}
