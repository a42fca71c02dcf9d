// The registry: what metrics and instance domains exist, their ids, and the file they are
// published in. Values reach the file by a periodic flush on an unref'd timer, or by flush().

import { performance } from 'node:perf_hooks';
import { PcpAgentError, quote, warnOnce } from '../errors';
import { mmvDir } from '../file/paths';
import { MmvFileWriter } from '../file/writer';
import { Flag, Limits, type Version } from '../mmv/format';
import { allocateId } from '../mmv/ids';
import { checkUnits, Units as U, type Units } from '../mmv/units';
import { type DomainOwner, InstanceDomain, type InstanceSpec } from './instance-domain';
import { type Counter, CounterFamily, type CounterOptions } from './kinds/counter';
import { type Gauge, GaugeFamily, type GaugeOptions } from './kinds/gauge';
import {
  type Histogram,
  HistogramFamily,
  type HistogramOptions,
  histogramConfig,
} from './kinds/histogram';
import { RawFamily, type RawMetric, type RawOptions } from './kinds/raw';
import type { MetricSpec } from './kinds/spec';
import { StringFamily, type StringMetric, type StringOptions } from './kinds/string';
import { type Timer, TimerFamily, type TimerOptions } from './kinds/timer';
import { Layout, type LayoutInput } from './layout';
import {
  type Family,
  type FamilyContext,
  type IndomOption,
  MetricVector,
  PcpMetric,
  SEMANTICS_CODES,
  TYPE_CODES,
} from './metric';
import { ValueStore } from './store';
import { checkFileName, checkMetricName, checkString, type Labels, labelPayload } from './validate';

export interface RegistryOptions {
  /** The file name, and the metric prefix `mmv.<name>.`: a letter, then letters, digits, `_`. */
  name: string;
  /** Directory of the file; default `$PCP_TMP_DIR/mmv` (see findPcpTmpDir). */
  dir?: string;
  /** PROCESS flag: PCP shows the metrics only while this process lives. Default true. */
  process?: boolean;
  /** NOPREFIX flag: metrics are `mmv.<metric>` instead of `mmv.<name>.<metric>`. Default false. */
  noPrefix?: boolean;
  /** SENTINEL flag: an all-ones integer or an empty string reads as "no value". Default false. */
  sentinel?: boolean;
  /** Cluster id 1-2047 (pmdammv's indom numbering); default a stable hash of the name. */
  cluster?: number;
  /** Milliseconds between flushes; default 250. 0 disables the timer (flush() only). */
  flushInterval?: number;
  /** The lowest MMV version to write (1, 2 or 3); it rises by itself when names or labels need it. */
  version?: Version;
  /** Labels on the whole file (PCP cluster labels; makes a v3 file). */
  labels?: Labels;
  /** Default cap on instances per domain; past it new names fold into `_overflow`. Default 1000. */
  maxInstances?: number;
  /** Publish `pcp_agent.*` self-metrics (errors, overflow, flushes). Default true. */
  selfMetrics?: boolean;
  /** Remove the file when the process exits. Default true. */
  removeOnExit?: boolean;
}

export interface InstanceDomainOptions {
  /** Instances known up front. */
  instances?: readonly (string | InstanceSpec)[];
  help?: string;
  longHelp?: string;
  labels?: Labels;
  /** A fixed serial 1-2047; default a stable hash of the name. */
  serial?: number;
  /** Cap on instances; default the registry's maxInstances. */
  maxInstances?: number;
}

/** The most metrics one file holds: items are 10 bits. */
export const MAX_METRICS = Limits.MAX_ITEM + 1;
/** The most values one file holds: pmdammv ignores a larger values section. */
export const MAX_VALUES = Limits.MAX_SECTION_COUNT;

interface SelfMetrics {
  errors: Counter;
  overflowed: Counter;
  flush: Timer;
  publishes: CounterFamily;
}

const live = new Set<Registry>();
let exitHookInstalled = false;

function onExit(): void {
  for (const r of live) {
    try {
      r.stop();
    } catch {
      // never change how the process exits
    }
  }
}

export class Registry implements DomainOwner, FamilyContext {
  readonly name: string;
  readonly cluster: number;
  readonly flags: number;
  /** @internal */
  readonly store = new ValueStore();
  private readonly writer: MmvFileWriter;
  private readonly options: RegistryOptions;
  private readonly version: Version;
  private readonly fileLabels: string | null;
  private readonly maxInstances: number;
  private readonly flushInterval: number;
  private readonly families: Family<unknown>[] = [];
  private readonly pcpMetrics: PcpMetric[] = [];
  private readonly domains: InstanceDomain[] = [];
  private readonly domainNames = new Map<string, InstanceDomain>();
  private readonly names = new Set<string>();
  private readonly items = new Set<number>();
  private readonly serials = new Set<number>();
  private readonly samplers: HistogramFamily[] = [];
  private readonly flushHooks: ((now: number) => void)[] = [];
  private valueCount = 0;
  private layout: Layout | null = null;
  private layoutDirty = true;
  private started = false;
  private stopped = false;
  private yielded = false;
  /** The values region's last positioned write failed: written whole at the next flush. */
  private regionStale = false;
  /** Codes of the faults going on now: each is counted once, not at every retry. */
  private readonly failing = new Set<string>();
  /** The second in which our file last appeared in the directory; -1 when announced. */
  private appearedIn = -1;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly self: SelfMetrics | null;

  constructor(options: RegistryOptions) {
    checkFileName(options?.name);
    this.options = options;
    this.name = options.name;
    this.cluster =
      options.cluster ?? allocateId(options.name, 1, Limits.MAX_SAFE_CLUSTER, new Set());
    if (
      !Number.isInteger(this.cluster) ||
      this.cluster < 1 ||
      this.cluster > Limits.MAX_SAFE_CLUSTER
    ) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_ID',
        `cluster must be an integer from 1 to ${Limits.MAX_SAFE_CLUSTER} (pmdammv packs cluster << 11 | serial into 22 bits, so larger clusters alias other files' instance domains), got ${quote(options.cluster)}`,
      );
    }
    this.flags =
      (options.process === false ? 0 : Flag.PROCESS) |
      (options.noPrefix ? Flag.NOPREFIX : 0) |
      (options.sentinel ? Flag.SENTINEL : 0);
    this.version = options.version ?? 1;
    if (![1, 2, 3].includes(this.version)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_OPTION',
        `version must be 1, 2 or 3, got ${quote(options.version)}`,
      );
    }
    this.fileLabels = options.labels
      ? labelPayload(options.labels, `registry ${quote(options.name)}`)
      : null;
    this.maxInstances = checkCap(options.maxInstances ?? 1000, 'maxInstances');
    this.flushInterval = options.flushInterval ?? 250;
    if (!(Number.isFinite(this.flushInterval) && this.flushInterval >= 0)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_OPTION',
        `flushInterval must be a number of milliseconds >= 0, got ${quote(options.flushInterval)}`,
      );
    }
    this.writer = new MmvFileWriter(options.dir ?? mmvDir(), options.name);
    this.self =
      options.selfMetrics === false
        ? null
        : {
            errors: this.counter('pcp_agent.errors', {
              help: 'Internal errors caught by pcp-agent',
            }),
            overflowed: this.counter('pcp_agent.instances.overflowed', {
              help: 'New instance names folded into _overflow by a cap: a domain at its cap, or maxRoutes or maxHosts',
            }),
            flush: this.register(
              new TimerFamily(this, 'pcp_agent.flush', null, 'usec'),
              TimerFamily.specs({
                unit: 'usec',
                help: 'Flushes of changed values to the file',
              }).map((s) => ({ ...s, passive: true })),
              null,
            ).handleAt(0),
            publishes: this.register(
              new CounterFamily(this, 'pcp_agent.publishes', null, 1),
              CounterFamily.specs({ help: 'Layouts of the whole file published' }).map((s) => ({
                ...s,
                passive: true,
              })),
              null,
            ),
          };
  }

  /** The path of the MMV file. */
  get path(): string {
    return this.writer.path;
  }

  /** Whether the current layout is on disk. */
  get published(): boolean {
    return this.writer.isOpen && !this.layoutDirty;
  }

  /** The MMV version the file has (or would have) now. */
  get fileVersion(): Version {
    if (this.layout && !this.layoutDirty) return this.layout.encoded.version;
    return new Layout(this.layoutInput(0n), this.store).encoded.version;
  }

  // ---- registration ------------------------------------------------------------------

  /** Declares an instance domain that several metrics can share. */
  instanceDomain(name: string, options: InstanceDomainOptions = {}): InstanceDomain {
    checkMetricName(name, 'instance domain name');
    if (this.domainNames.has(name)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_DUPLICATE',
        `instance domain ${quote(name)} is already declared`,
      );
    }
    let serial: number;
    if (options.serial !== undefined) {
      if (
        !Number.isInteger(options.serial) ||
        options.serial < 1 ||
        options.serial > Limits.MAX_INDOM_SERIAL ||
        this.serials.has(options.serial)
      ) {
        throw new PcpAgentError(
          'PCP_AGENT_ERR_ID',
          `indom serial must be an unused integer from 1 to ${Limits.MAX_INDOM_SERIAL} (pmdammv packs it into 11 bits), got ${quote(options.serial)}`,
        );
      }
      serial = options.serial;
    } else {
      serial = allocateId(name, 1, Limits.MAX_INDOM_SERIAL, this.serials);
      if (serial < 0) {
        throw new PcpAgentError('PCP_AGENT_ERR_ID', `no free indom serial left for ${quote(name)}`);
      }
    }
    if (options.help !== undefined)
      checkString(options.help, `help of instance domain ${quote(name)}`);
    if (options.longHelp !== undefined)
      checkString(options.longHelp, `long help of instance domain ${quote(name)}`);
    const domain = new InstanceDomain(this, name, serial, {
      shortHelp: options.help,
      longHelp: options.longHelp,
      labels: options.labels
        ? labelPayload(options.labels, `instance domain ${quote(name)}`)
        : null,
      maxInstances: checkCap(options.maxInstances ?? this.maxInstances, 'maxInstances'),
    });
    this.serials.add(serial);
    this.domainNames.set(name, domain);
    this.domains.push(domain);
    try {
      for (const inst of options.instances ?? []) domain.add(inst);
    } catch (err) {
      // A refused instance name refuses the whole declaration: nothing is left behind.
      this.forgetDomain(domain);
      throw err;
    }
    this.layoutDirty = true;
    return domain;
  }

  /** Undoes instanceDomain() for a domain no metric uses yet. */
  private forgetDomain(domain: InstanceDomain): void {
    this.serials.delete(domain.serial);
    this.domainNames.delete(domain.name);
    const at = this.domains.indexOf(domain);
    if (at >= 0) this.domains.splice(at, 1);
  }

  /** A u64 counter. With `indom`, one value per instance. */
  counter(name: string, options: CounterOptions & IndomOption): MetricVector<Counter>;
  counter(name: string, options?: CounterOptions): Counter;
  counter(
    name: string,
    options: CounterOptions & Partial<IndomOption> = {},
  ): Counter | MetricVector<Counter> {
    return this.build(
      name,
      options,
      (indom) => new CounterFamily(this, name, indom, 1),
      CounterFamily.specs(options),
    );
  }

  /** A double that goes up and down. */
  gauge(name: string, options: GaugeOptions & IndomOption): MetricVector<Gauge>;
  gauge(name: string, options?: GaugeOptions): Gauge;
  gauge(
    name: string,
    options: GaugeOptions & Partial<IndomOption> = {},
  ): Gauge | MetricVector<Gauge> {
    return this.build(
      name,
      options,
      (indom) => new GaugeFamily(this, name, indom, 1),
      GaugeFamily.specs(options),
    );
  }

  /** Elapsed time and count: `<name>.count` and `<name>.time`. */
  timer(name: string, options: TimerOptions & IndomOption): MetricVector<Timer>;
  timer(name: string, options?: TimerOptions): Timer;
  timer(
    name: string,
    options: TimerOptions & Partial<IndomOption> = {},
  ): Timer | MetricVector<Timer> {
    const unit = options.unit ?? 'msec';
    U.time(unit); // validates the unit
    return this.build(
      name,
      options,
      (indom) => new TimerFamily(this, name, indom, unit),
      TimerFamily.specs(options),
    );
  }

  /** A distribution: count, sum, min, max, percentiles per window, cumulative buckets. */
  histogram(name: string, options: HistogramOptions & IndomOption): MetricVector<Histogram>;
  histogram(name: string, options?: HistogramOptions): Histogram;
  histogram(
    name: string,
    options: HistogramOptions & Partial<IndomOption> = {},
  ): Histogram | MetricVector<Histogram> {
    const config = histogramConfig(options, name);
    let family: HistogramFamily | undefined;
    const result = this.build(
      name,
      options,
      (indom) => {
        family = new HistogramFamily(this, name, indom, config);
        return family;
      },
      HistogramFamily.specs(options, config),
    );
    if (family) this.samplers.push(family);
    return result;
  }

  /** A string of at most 255 bytes. */
  string(name: string, options: StringOptions & IndomOption): MetricVector<StringMetric>;
  string(name: string, options?: StringOptions): StringMetric;
  string(
    name: string,
    options: StringOptions & Partial<IndomOption> = {},
  ): StringMetric | MetricVector<StringMetric> {
    if (options.value !== undefined)
      checkString(options.value, `value of string metric ${quote(name)}`);
    return this.build(
      name,
      options,
      (indom) => new StringFamily(this, name, indom, options.value ?? ''),
      StringFamily.specs(options),
    );
  }

  /** A metric of any numeric PCP type, with explicit semantics and units. */
  metric(name: string, options: RawOptions & IndomOption): MetricVector<RawMetric>;
  metric(name: string, options: RawOptions): RawMetric;
  metric(
    name: string,
    options: RawOptions & Partial<IndomOption>,
  ): RawMetric | MetricVector<RawMetric> {
    if (!options || !(options.type in TYPE_CODES) || options.type === ('string' as string)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_OPTION',
        `metric ${quote(name)}: type must be one of i32, u32, i64, u64, float, double (use string() for strings), got ${quote(options?.type)}`,
      );
    }
    return this.build(
      name,
      options,
      (indom) => new RawFamily(this, name, indom, options.type),
      RawFamily.specs(options),
    );
  }

  private build<H>(
    name: string,
    options: Partial<IndomOption>,
    make: (indom: InstanceDomain | null) => Family<H>,
    specs: MetricSpec[],
  ): H | MetricVector<H> {
    let indom: InstanceDomain | null = null;
    if (options.indom instanceof InstanceDomain) {
      indom = options.indom;
      if (this.domainNames.get(indom.name) !== indom) {
        throw new PcpAgentError(
          'PCP_AGENT_ERR_OPTION',
          `metric ${quote(name)}: instance domain ${quote(indom.name)} belongs to another registry`,
        );
      }
    } else if (Array.isArray(options.indom)) {
      // Checked before the domain is made, so a bad metric leaves no orphan domain.
      this.checkNewNames(name, specs);
      indom = this.instanceDomain(name, { instances: options.indom });
    } else if (options.indom !== undefined) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_OPTION',
        `metric ${quote(name)}: indom must be an InstanceDomain or an array of instance names, got ${quote(options.indom)}`,
      );
    }
    let family: Family<H>;
    try {
      family = this.register(make(indom), specs, indom);
    } catch (err) {
      // The metric's own domain goes with it, so the corrected metric can be declared again.
      if (indom !== null && Array.isArray(options.indom)) this.forgetDomain(indom);
      throw err;
    }
    return indom ? new MetricVector(family) : family.handleAt(0);
  }

  private checkNewNames(name: string, specs: MetricSpec[]): void {
    // Not a string: refused as itself, before `name + suffix` converts (or fails to convert) it.
    if (typeof name !== 'string') checkMetricName(name);
    for (const spec of specs) {
      const full = name + spec.suffix;
      checkMetricName(full);
      if (this.names.has(full)) {
        throw new PcpAgentError(
          'PCP_AGENT_ERR_DUPLICATE',
          `metric name ${quote(full)} is already registered`,
        );
      }
      for (const other of this.names) {
        if (other.startsWith(`${full}.`) || full.startsWith(`${other}.`)) {
          throw new PcpAgentError(
            'PCP_AGENT_ERR_DUPLICATE',
            `metric name ${quote(full)} clashes with ${quote(other)}: in PCP's namespace a name cannot be both a metric and a prefix of another`,
          );
        }
      }
    }
    if (this.pcpMetrics.length + specs.length > MAX_METRICS) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_TOO_MANY_METRICS',
        `metric ${quote(name)} needs ${specs.length} PCP metric(s); a file holds at most ${MAX_METRICS} (item ids are 10 bits), and ${this.pcpMetrics.length} are registered`,
      );
    }
  }

  private register<F extends Family<unknown>>(
    family: F,
    specs: MetricSpec[],
    indom: InstanceDomain | null,
  ): F {
    this.checkNewNames(family.name, specs);
    const instances = indom ? indom.size : 1;
    if (this.valueCount + instances * specs.length > MAX_VALUES) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_TOO_MANY_METRICS',
        `metric ${quote(family.name)} would bring the file to ${this.valueCount + instances * specs.length} values; pmdammv ignores a file with more than ${MAX_VALUES}`,
      );
    }
    const items = new Set(this.items);
    const made: PcpMetric[] = [];
    for (const spec of specs) {
      const full = family.name + spec.suffix;
      checkUnits(spec.units);
      if (spec.help !== undefined) checkString(spec.help, `help of metric ${quote(full)}`);
      if (spec.longHelp !== undefined)
        checkString(spec.longHelp, `long help of metric ${quote(full)}`);
      const labels = spec.labels ? labelPayload(spec.labels, `metric ${quote(full)}`) : null;
      let item: number;
      if (spec.item !== undefined) {
        if (
          !Number.isInteger(spec.item) ||
          spec.item < 0 ||
          spec.item > Limits.MAX_ITEM ||
          items.has(spec.item)
        ) {
          throw new PcpAgentError(
            'PCP_AGENT_ERR_ID',
            `metric ${quote(full)}: item must be an unused integer from 0 to ${Limits.MAX_ITEM}, got ${quote(spec.item)}`,
          );
        }
        item = spec.item;
      } else {
        item = allocateId(full, 0, Limits.MAX_ITEM, items);
      }
      items.add(item);
      made.push(
        new PcpMetric(
          family,
          full,
          item,
          TYPE_CODES[spec.type],
          SEMANTICS_CODES[spec.semantics],
          spec.units,
          spec.offset,
          spec.help,
          spec.longHelp,
          labels,
          spec.passive === true,
        ),
      );
    }
    // All checks passed: commit.
    for (const m of made) {
      this.items.add(m.item);
      this.names.add(m.name);
      this.pcpMetrics.push(m);
      family.metrics.push(m);
    }
    this.families.push(family);
    this.valueCount += instances * specs.length;
    if (indom) indom.attach(family);
    else family.addInstance(0);
    this.layoutDirty = true;
    return family;
  }

  // ---- DomainOwner -------------------------------------------------------------------

  /** @internal */
  canAddInstance(domain: InstanceDomain): boolean {
    return this.valueCount + this.metricsOver(domain) <= MAX_VALUES;
  }

  /** @internal */
  instanceAdded(domain: InstanceDomain): void {
    this.valueCount += this.metricsOver(domain);
    this.layoutDirty = true;
  }

  /**
   * Counts in `pcp_agent.instances.overflowed` a name that an instrumentation's own cap (HTTP
   * routes, client hosts) folded into `_overflow`, as the domains count theirs. Never throws.
   */
  countOverflowed(): void {
    this.self?.overflowed.inc();
  }

  /** @internal */
  overflowed(domain: InstanceDomain): void {
    this.countOverflowed();
    warnOnce(
      'PCP_AGENT_WARN_OVERFLOW',
      `pcp-agent: instance domain "${domain.name}" of ${this.name} reached its cap of ${domain.maxInstances}; new instances are counted under "_overflow"`,
    );
  }

  private metricsOver(domain: InstanceDomain): number {
    let n = 0;
    for (const m of this.pcpMetrics) if (m.indom === domain) n++;
    return n;
  }

  // ---- publishing --------------------------------------------------------------------

  /** Publishes the file and starts the periodic flush. Never throws for I/O: see `published`. */
  start(): this {
    if (this.started || this.stopped) return this;
    this.started = true;
    this.sample();
    this.tryPublish();
    if (this.flushInterval > 0) {
      this.flushTimer = setInterval(() => this.flush(), this.flushInterval);
      this.flushTimer.unref();
    }
    if (this.options.removeOnExit !== false) {
      live.add(this);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', onExit);
      }
    }
    return this;
  }

  /**
   * Writes what changed since the last flush (one positioned write), or the whole file if
   * metrics or instances were added. Returns whether anything was written.
   */
  flush(): boolean {
    if (!this.started || this.stopped) return false;
    if (!this.checkIntact()) return false;
    const t0 = performance.now();
    try {
      this.sample();
      this.announce();
      if (this.layoutDirty || !this.writer.isOpen || !this.layout) {
        if (this.tryPublish()) return true;
        // The new layout could not be written (a full disk, say): until it can, keep the
        // values PCP already reads current in the file it has.
        if (!this.layout || !this.writer.isIntact()) return false;
      }
      // A region whose last write failed is written again even if no value changed since:
      // refresh() already counts those values as written.
      if (!this.layout.refresh(this.store) && !this.regionStale) return false;
      this.self?.flush.record((performance.now() - t0) * 1000);
      this.layout.refreshPassive(this.store); // the flush self-metric, in the same write
      this.regionStale = true;
      this.writer.writeAt(this.layout.region, this.layout.regionOffset);
      this.regionStale = false;
      this.failing.delete('PCP_AGENT_WARN_FLUSH');
      return true;
    } catch (err) {
      this.fault(
        'PCP_AGENT_WARN_FLUSH',
        `flushing ${this.path} failed (retried at each flush)`,
        err,
      );
      return false;
    }
  }

  /** Removes the file and stops flushing. Idempotent; later updates are harmless no-ops. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    live.delete(this);
    try {
      this.writer.remove();
    } catch (err) {
      this.internalError('PCP_AGENT_WARN_REMOVE', `removing ${this.path} failed`, err);
    }
  }

  /**
   * Calls `fn` before each flush (and before the first publish), to sample values that are
   * read rather than counted: memory, CPU, event-loop delay. An error it throws is counted
   * in `pcp_agent.errors` and warned once; it never stops the flush. Returns an unsubscribe.
   */
  beforeFlush(fn: (now: number) => void): () => void {
    this.flushHooks.push(fn);
    return () => {
      const k = this.flushHooks.indexOf(fn);
      if (k >= 0) this.flushHooks.splice(k, 1);
    };
  }

  /**
   * Counts an internal error in `pcp_agent.errors` and logs it once per code. For code that
   * observes the app on its behalf (the agent's instrumentation): never throws.
   */
  reportError(code: string, what: string, err?: unknown): void {
    try {
      this.internalError(code, what, err);
    } catch {
      // a throwing warning listener must not reach the app
    }
  }

  private sample(): void {
    const now = Date.now();
    for (const fn of this.flushHooks) {
      try {
        fn(now);
      } catch (err) {
        this.reportError('PCP_AGENT_WARN_SAMPLE', 'a beforeFlush sampler threw', err);
      }
    }
    for (const s of this.samplers) s.sample(now);
  }

  /**
   * Whether the file this registry writes is still its own, before each flush. A file
   * deleted, truncated or replaced is published again (layoutDirty); one taken by another
   * live process of the same name is yielded to: false, nothing written, until it is gone.
   */
  private checkIntact(): boolean {
    if (this.writer.isOpen && !this.writer.isIntact()) {
      // Another live process published a file of the same name: taking it back at every
      // flush would make PCP's values jump between the two, so yield until it is gone.
      const owner = this.writer.foreignOwner();
      if (owner !== null) {
        if (!this.yielded) {
          this.yielded = true;
          this.internalError(
            'PCP_AGENT_WARN_NAME_TAKEN',
            `${this.path} was replaced by process ${owner} using the same name; this process's metrics are not published until it is gone`,
          );
        }
        return false;
      }
      // Deleted, truncated or replaced by someone else (or that process died): publish again.
      if (!this.yielded) {
        this.fault(
          'PCP_AGENT_WARN_REPUBLISH',
          `${this.path} was deleted, truncated or replaced by someone else; it is published again`,
        );
      }
      this.yielded = false;
      this.layoutDirty = true;
    }
    return true;
  }

  private layoutInput(generation: bigint): LayoutInput {
    return {
      version: this.version,
      generation,
      flags: this.flags,
      pid: process.pid,
      cluster: this.cluster,
      indoms: this.domains,
      metrics: this.pcpMetrics,
      labels: this.fileLabels,
    };
  }

  private tryPublish(): boolean {
    // Counted before encoding so the file carries its own publish; taken back on failure.
    const publishes = this.self ? this.self.publishes.metrics[0].slot(0) : -1;
    try {
      // Replacing our own file makes a pmdammv holding it reload (its generation is zeroed);
      // a file new to the directory is found only by the directory's time (see announce()).
      const replacing = this.writer.isIntact();
      const generation = this.writer.nextGeneration();
      if (publishes >= 0) this.store.f64[publishes]++;
      const layout = new Layout(this.layoutInput(generation), this.store);
      this.writer.publish(layout.encoded.bytes, generation);
      this.layout = layout;
      this.layoutDirty = false;
      if (!replacing) this.appearedIn = Math.floor(Date.now() / 1000);
      this.failing.delete('PCP_AGENT_WARN_PUBLISH');
      this.failing.delete('PCP_AGENT_WARN_REPUBLISH');
      return true;
    } catch (err) {
      if (publishes >= 0) this.store.f64[publishes]--;
      this.layoutDirty = true;
      this.fault(
        'PCP_AGENT_WARN_PUBLISH',
        `publishing ${this.path} failed (retried at each flush)`,
        err,
      );
      return false;
    }
  }

  /**
   * Once the second in which our file appeared is over, changes the directory's time again.
   * pmdammv finds new files by the directory's modification time, which older versions
   * compare in whole seconds (6.0.3 compares nanoseconds, but a file system may keep whole
   * seconds only): a file that appears in the same second as pmdammv's last look (an app
   * restarted within a second, say) would stay unseen until something else changed the
   * directory. Replacing our own file needs none of this: its zeroed generation is seen.
   */
  private announce(): void {
    if (this.appearedIn < 0 || Math.floor(Date.now() / 1000) <= this.appearedIn) return;
    this.appearedIn = -1;
    this.writer.touchDirectory();
  }

  /**
   * An internal error that lasts until something succeeds (a publish, a flush): counted and
   * warned once when it begins, not at every retry, so `pcp_agent.errors` counts faults.
   */
  private fault(code: string, what: string, err?: unknown): void {
    if (this.failing.has(code)) return;
    this.failing.add(code);
    this.internalError(code, what, err);
  }

  private internalError(code: string, what: string, err?: unknown): void {
    this.self?.errors.inc();
    const detail = err === undefined ? '' : `: ${err instanceof Error ? err.message : String(err)}`;
    warnOnce(code, `pcp-agent: ${what}${detail}`);
  }
}

function checkCap(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_OPTION',
      `${what} must be an integer >= 1, got ${quote(n)}`,
    );
  }
  return n;
}

export type { Units };
