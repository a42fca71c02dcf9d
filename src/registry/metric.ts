// The metric model: PCP metrics as they go into the file, and the families (a counter, a
// timer, a histogram) that own them, allocate their slots, and hand out per-instance handles.

import { PcpAgentError, quote } from '../errors';
import { SemanticsCode, TypeCode } from '../mmv/format';
import { encodeUnits, type Units } from '../mmv/units';
import type { DomainMember, InstanceDomain, InstanceSpec } from './instance-domain';
import type { ValueStore } from './store';
import type { Labels } from './validate';

export type MetricType = 'i32' | 'u32' | 'i64' | 'u64' | 'float' | 'double' | 'string';
export type Semantics = 'counter' | 'instant' | 'discrete';

export const TYPE_CODES: Readonly<Record<MetricType, number>> = {
  i32: TypeCode.I32,
  u32: TypeCode.U32,
  i64: TypeCode.I64,
  u64: TypeCode.U64,
  float: TypeCode.FLOAT,
  double: TypeCode.DOUBLE,
  string: TypeCode.STRING,
};

export const SEMANTICS_CODES: Readonly<Record<Semantics, number>> = {
  counter: SemanticsCode.COUNTER,
  instant: SemanticsCode.INSTANT,
  discrete: SemanticsCode.DISCRETE,
};

/** Options every kind accepts. */
export interface MetricOptions {
  /** One-line help (pminfo -t), at most 255 bytes. */
  help?: string;
  /** Long help (pminfo -T), at most 255 bytes. */
  longHelp?: string;
  /** Labels on the metric (written as a v3 file). */
  labels?: Labels;
}

/** Puts a metric over an instance domain: a declared domain, or instance names for a private one. */
export interface IndomOption {
  indom: InstanceDomain | readonly (string | InstanceSpec)[];
}

/** One metric as PCP sees it: a name, an item, a type, semantics, units and help. */
export class PcpMetric {
  readonly unitsWord: number;

  constructor(
    readonly family: Family<unknown>,
    /** Name within the file, without the `mmv.<file>.` prefix. */
    readonly name: string,
    readonly item: number,
    readonly type: number,
    readonly semantics: number,
    readonly units: Units,
    /** Offset of this metric's slot within its family's per-instance block. */
    readonly offset: number,
    readonly shortHelp: string | undefined,
    readonly longHelp: string | undefined,
    readonly labels: string | null,
    /** Self-metrics about flushing: written with a flush, but never the reason for one. */
    readonly passive: boolean,
  ) {
    this.unitsWord = encodeUnits(units);
  }

  get indom(): InstanceDomain | null {
    return this.family.indom;
  }

  /** The store slot of this metric's value for an instance index (0 for a singleton). */
  slot(instance: number): number {
    return this.family.blocks[instance] + this.offset;
  }
}

/** What a family needs from its registry. */
export interface FamilyContext {
  readonly store: ValueStore;
}

/**
 * A user-facing metric: owns one or more PcpMetrics and, per instance, a block of `width`
 * consecutive slots. Singletons have exactly one block.
 */
export abstract class Family<H> implements DomainMember {
  /** First slot of each instance's block, by instance index. */
  readonly blocks: number[] = [];
  readonly metrics: PcpMetric[] = [];
  private readonly handles: (H | undefined)[] = [];
  private detachedHandle: H | undefined;

  constructor(
    protected readonly ctx: FamilyContext,
    readonly name: string,
    readonly indom: InstanceDomain | null,
    /** Slots per instance. */
    protected readonly width: number,
  ) {}

  /** @internal Allocates the slots of a new instance (or of the singleton). */
  addInstance(index: number): void {
    const block = this.ctx.store.alloc(this.width);
    this.blocks[index] = block;
    this.initBlock(block);
  }

  /** Kind-specific set-up of a fresh block (e.g. a native histogram). */
  protected initBlock(_block: number): void {}

  protected abstract createHandle(block: number): H;

  /** @internal The handle for an instance index; -1 gives a handle that is never published. */
  handleAt(index: number): H {
    if (index < 0) {
      if (this.detachedHandle === undefined) {
        const block = this.ctx.store.alloc(this.width);
        this.initBlock(block);
        this.detachedHandle = this.createHandle(block);
      }
      return this.detachedHandle;
    }
    let h = this.handles[index];
    if (h === undefined) {
      h = this.createHandle(this.blocks[index]);
      this.handles[index] = h;
    }
    return h;
  }

  /** Each instance's handle in domain order (one for a singleton). */
  allHandles(): H[] {
    return this.blocks.map((_, i) => this.handleAt(i));
  }
}

/** A metric over an instance domain: `instance(name)` returns the handle for one instance. */
export class MetricVector<H> {
  /**
   * Handles of names that are instances of the domain, so a lookup by name is one Map.get.
   * Names folded into `_overflow` are never cached: each such lookup must still be counted.
   */
  private readonly byName = new Map<string, H>();

  /** @internal */
  constructor(private readonly family: Family<H>) {}

  get name(): string {
    return this.family.name;
  }

  get indom(): InstanceDomain {
    return this.family.indom as InstanceDomain;
  }

  /**
   * The handle for an instance, created (and published at the next flush) if new. Cache it:
   * an update through a cached handle is a single typed-array store. Past the domain's cap,
   * new names share the `_overflow` instance. Labels apply when the instance is created.
   */
  instance(name: string, labels?: Labels): H {
    const cached = this.byName.get(name);
    if (cached !== undefined) return cached;
    const indom = this.family.indom;
    const index = indom ? indom.resolve(name, labels) : -1;
    const handle = this.family.handleAt(index);
    if (index >= 0 && indom?.indexOf(name) === index) this.byName.set(name, handle);
    return handle;
  }
}

/** A label for error messages. */
export function describeKind(kind: string, name: string): string {
  return `${kind} ${quote(name)}`;
}

export function checkFiniteNumber(n: number, what: string): void {
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_VALUE',
      `${what} must be a finite number, got ${quote(n)}`,
    );
  }
}
