// An instance domain: the set of instances (routes, products, CPUs) that metrics are broken
// down by. Declared up front or grown at run time, up to a cap past which names fold into one.

import { PcpAgentError, quote } from '../errors';
import { allocateId } from '../mmv/ids';
import { checkInstanceName, firstWord, type Labels, labelPayload } from './validate';

/** The instance that new names fold into once a domain is at its cap. */
export const OVERFLOW_INSTANCE = '_overflow';

export interface Instance {
  readonly id: number;
  readonly name: string;
  /** JSON label payload for this instance (v3 files), or null. */
  readonly labels: string | null;
}

export interface InstanceSpec {
  name: string;
  /** A fixed instance id (0 to 2^31-1); by default a stable hash of the name. */
  id?: number;
  labels?: Labels;
}

/** What a domain needs from its registry. */
export interface DomainOwner {
  /** Called after an instance is appended; returns false if the registry cannot hold it. */
  canAddInstance(domain: InstanceDomain): boolean;
  instanceAdded(domain: InstanceDomain, index: number): void;
  overflowed(domain: InstanceDomain): void;
}

/** A metric kind that keeps per-instance slots and must grow with its domain. */
export interface DomainMember {
  addInstance(index: number): void;
}

export class InstanceDomain {
  readonly name: string;
  readonly serial: number;
  readonly shortHelp: string | undefined;
  readonly longHelp: string | undefined;
  /** JSON label payload for the domain (v3 files), or null. */
  readonly labels: string | null;
  /** The most instances the domain holds before folding new names into `_overflow`. */
  readonly maxInstances: number;
  private readonly list: Instance[] = [];
  private readonly byName = new Map<string, number>();
  private readonly byFirstWord = new Map<string, string>();
  private readonly ids = new Set<number>();
  private readonly members: DomainMember[] = [];
  private overflowIndex = -1;

  /** @internal Created through Registry.instanceDomain(). */
  constructor(
    private readonly owner: DomainOwner,
    name: string,
    serial: number,
    options: {
      shortHelp?: string;
      longHelp?: string;
      labels: string | null;
      maxInstances: number;
    },
  ) {
    this.name = name;
    this.serial = serial;
    this.shortHelp = options.shortHelp;
    this.longHelp = options.longHelp;
    this.labels = options.labels;
    this.maxInstances = options.maxInstances;
  }

  get instances(): readonly Instance[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  /** The index of an instance by name, or -1. */
  indexOf(name: string): number {
    return this.byName.get(name) ?? -1;
  }

  /** @internal */
  attach(member: DomainMember): void {
    this.members.push(member);
    for (let i = 0; i < this.list.length; i++) member.addInstance(i);
  }

  /**
   * Adds an instance, validating its name; throws if it is invalid or clashes. Returns its
   * index (existing instances are returned as they are).
   */
  add(spec: string | InstanceSpec): number {
    const s: InstanceSpec = typeof spec === 'string' ? { name: spec } : spec;
    const existing = this.byName.get(s.name);
    if (existing !== undefined) return existing;
    if (s.name === OVERFLOW_INSTANCE) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_INSTANCE',
        `instance name ${quote(s.name)} is reserved for the overflow instance of domain ${quote(this.name)}`,
      );
    }
    if (this.named() >= this.maxInstances) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_INSTANCE',
        `cannot add instance ${quote(s.name)}: domain ${quote(this.name)} is at its cap of ${this.maxInstances} instances`,
      );
    }
    if (!this.owner.canAddInstance(this)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_TOO_MANY_METRICS',
        `cannot add instance ${quote(s.name)} to domain ${quote(this.name)}: the file would hold more than 10000 values, which pmdammv refuses`,
      );
    }
    return this.append(s);
  }

  /**
   * The index for a name, adding it if new; at the cap (or when the registry is full), the
   * index of the overflow instance, or -1 if not even that fits.
   */
  resolve(name: string, labels?: Labels): number {
    const existing = this.byName.get(name);
    if (existing !== undefined) return existing;
    // Asked for by name (an instrumentation's own cap folded something into it): no name of
    // the domain's was dropped here, so nothing is counted; labels apply if it is created now.
    if (name === OVERFLOW_INSTANCE) return this.overflow(labels);
    if (this.named() >= this.maxInstances || !this.owner.canAddInstance(this)) {
      this.owner.overflowed(this);
      return this.overflow();
    }
    return this.append({ name, labels });
  }

  /** Instances other than the overflow instance: what maxInstances caps. */
  private named(): number {
    return this.list.length - (this.overflowIndex >= 0 ? 1 : 0);
  }

  /** The overflow instance's index, added if new and there is room; -1 if there is none. */
  private overflow(labels?: Labels): number {
    if (this.overflowIndex < 0 && this.owner.canAddInstance(this)) {
      this.overflowIndex = this.append({ name: OVERFLOW_INSTANCE, labels });
    }
    return this.overflowIndex;
  }

  private append(s: InstanceSpec): number {
    checkInstanceName(s.name);
    const word = firstWord(s.name);
    if (word === OVERFLOW_INSTANCE && s.name !== OVERFLOW_INSTANCE) {
      // PCP clients would take it for the overflow instance, and the overflow instance
      // could no longer be added once it exists.
      throw new PcpAgentError(
        'PCP_AGENT_ERR_INSTANCE',
        `instance name ${quote(s.name)} starts with the word ${quote(OVERFLOW_INSTANCE)}, reserved for the overflow instance of domain ${quote(this.name)} (PCP clients identify an instance by its first word)`,
      );
    }
    const clash = this.byFirstWord.get(word);
    if (clash !== undefined) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_INSTANCE',
        `instance name ${quote(s.name)} clashes with ${quote(clash)} in domain ${quote(this.name)}: PCP clients identify an instance by its first word (${quote(word)}); use names without spaces`,
      );
    }
    let id: number;
    if (s.id !== undefined) {
      if (!Number.isInteger(s.id) || s.id < 0 || s.id > 0x7fffffff || this.ids.has(s.id)) {
        throw new PcpAgentError(
          'PCP_AGENT_ERR_ID',
          `instance id for ${quote(s.name)} must be an unused integer from 0 to 2147483647, got ${quote(s.id)}`,
        );
      }
      id = s.id;
    } else {
      id = allocateId(s.name, 0, 0x7fffffff, this.ids);
    }
    const labels = s.labels ? labelPayload(s.labels, `instance ${quote(s.name)}`) : null;
    const index = this.list.length;
    this.list.push({ id, name: s.name, labels });
    this.byName.set(s.name, index);
    this.byFirstWord.set(word, s.name);
    this.ids.add(id);
    for (const m of this.members) m.addInstance(index);
    this.owner.instanceAdded(this, index);
    return index;
  }
}
