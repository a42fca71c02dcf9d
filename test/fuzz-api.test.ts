// Bad input for the public API: generated names (metric, instance domain, instance), help texts,
// string values, units and labels, with unicode, control characters, 63/64 and 255/256-byte
// boundaries straddled by multi-byte UTF-8, empty strings and dots in odd places. Each call is
// either refused with a PcpAgentError naming the rule and the value, or real PCP (pminfo -L)
// reads back exactly what was set; a refusal never loses what was recorded before it.
// PCP_AGENT_FUZZ_API_RUNS sets the real-PCP runs (3 pminfo calls each), PCP_AGENT_FUZZ_SEED the seed.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type ErrorCode, PcpAgentError, quote } from '../src/errors';
import { readMmvFile } from '../src/mmv/reader';
import type { Units } from '../src/mmv/units';
import type { InstanceDomain } from '../src/registry/instance-domain';
import type { MetricVector } from '../src/registry/metric';
import { Registry } from '../src/registry/registry';
import type { LabelValue } from '../src/registry/validate';
import {
  describePcp,
  makePcpTmpDir,
  PCP_OWN_LABEL_KEYS,
  pminfo,
  removePcpTmpDir,
} from './support/pcp';
import { pmUnitsStr } from './support/pcp-units';

const PCP_RUNS = Number(process.env.PCP_AGENT_FUZZ_API_RUNS || 12);
/** Runs checked with our reader only: cheap, so many more. */
const LOCAL_RUNS = Number(process.env.PCP_AGENT_FUZZ_API_LOCAL_RUNS || 300);
const SEED = Number(process.env.PCP_AGENT_FUZZ_SEED || 0x5eed_f00d) | 0;

const byteLength = (s: string): number => Buffer.byteLength(s);

// ---- generated input ------------------------------------------------------------------------

/** Any UTF-16 code unit: lone surrogates, NUL, C0 and C1 controls included. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const trickyUnit = fc.constantFrom(
  'a',
  ' ',
  '\n',
  '\t',
  '\r',
  '\x1b',
  '\x7f',
  '\u0085',
  '\u009b',
  '"',
  '\\',
  '[',
  ']',
  'é',
  '😀',
  '\u2028',
  '\ufeff',
);

/** Text of an exact UTF-8 length ending in 1-3 characters of 1-4 bytes: straddles the limits. */
const sizedText = fc
  .record({
    bytes: fc.constantFrom(1, 62, 63, 64, 65, 242, 243, 244, 253, 254, 255, 256, 257, 300),
    ch: fc.constantFrom('a', 'é', '€', '😀', '\n'),
    k: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ bytes, ch, k }) => {
    const n = Math.min(k, Math.floor(bytes / byteLength(ch)));
    return 'x'.repeat(bytes - n * byteLength(ch)) + ch.repeat(n);
  });

// Mostly text PCP takes, so that most metrics get through to pminfo; the rest is refused.
const textArb = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: anyUnit, maxLength: 12 }) },
  { weight: 3, arbitrary: fc.string({ unit: trickyUnit, maxLength: 20 }) },
  { weight: 2, arbitrary: sizedText },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '\n', 'a\0b', 'Help:', 'No value(s) available!'),
  },
);

const validName = fc.stringMatching(
  /^[A-Za-z][A-Za-z0-9_]{0,12}(\.[A-Za-z][A-Za-z0-9_]{0,12}){0,2}$/,
);
/** ASCII names of 63-256 bytes, some with dots: the v1/v2 switch and the 255-byte limit. */
const longName = fc
  .record({ len: fc.constantFrom(63, 64, 200, 254, 255, 256), dots: fc.boolean() })
  .map(({ len, dots }) => {
    const s = `m${'n'.repeat(len - 1)}`.split('');
    if (dots) for (let i = 40; i < len - 1; i += 50) s[i] = '.';
    return s.join('');
  });
const oddName = fc.oneof(
  fc.constantFrom('', '.', 'a.', '.a', 'a..b', '1a', '_a', 'a.1', 'a-b', 'a b', 'café', 'а', 'a\n'),
  fc.string({ unit: anyUnit, maxLength: 8 }),
  fc
    .tuple(validName, fc.constantFrom('.', '..', '-', ' ', '\0', 'é', '\u212a'), validName)
    .map(([a, sep, b]) => a + sep + b),
);
const metricNameArb = fc.oneof(
  { weight: 8, arbitrary: validName },
  { weight: 1, arbitrary: longName },
  { weight: 2, arbitrary: oddName },
);

const instanceNameArb = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }) },
  { weight: 2, arbitrary: textArb },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '_overflow',
      ' lead',
      'two words',
      'tab\tx',
      'x'.repeat(63),
      'x'.repeat(64),
      'é'.repeat(31),
      'é'.repeat(32),
      '😀'.repeat(63),
      '😀'.repeat(64),
    ),
  },
);

const validUnits = fc
  .record({
    dimSpace: fc.integer({ min: -8, max: 7 }),
    dimTime: fc.integer({ min: -8, max: 7 }),
    dimCount: fc.integer({ min: -8, max: 7 }),
    scaleSpace: fc.integer({ min: 0, max: 6 }),
    scaleTime: fc.integer({ min: 0, max: 5 }),
    scaleCount: fc.integer({ min: -8, max: 7 }),
  })
  .map((u) => ({
    ...u,
    scaleSpace: u.dimSpace ? u.scaleSpace : 0,
    scaleTime: u.dimTime ? u.scaleTime : 0,
    scaleCount: u.dimCount ? u.scaleCount : 0,
  }));
const field = (lo: number, hi: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: lo - 1, max: hi + 1 }) },
    { weight: 1, arbitrary: fc.constantFrom(0.5, Number.NaN, 2 ** 31, -(2 ** 31)) },
  );
const anyUnits = fc.record({
  dimSpace: field(-8, 7),
  dimTime: field(-8, 7),
  dimCount: field(-8, 7),
  scaleSpace: field(0, 6),
  scaleTime: field(0, 5),
  scaleCount: field(-8, 7),
});
const unitsArb = fc.oneof({ weight: 4, arbitrary: validUnits }, { weight: 1, arbitrary: anyUnits });

const labelKeyArb = fc.oneof(
  { weight: 12, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', '1a', '_a', 'a-b', 'a.b', 'é', 'a b') },
  { weight: 1, arbitrary: fc.string({ unit: anyUnit, maxLength: 5 }) },
);
const labelValueArb: fc.Arbitrary<LabelValue> = fc.oneof(
  { weight: 3, arbitrary: textArb },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, -0, 1e21, 2 ** 53 + 2, 0.1) },
);
const labelsArb = fc.dictionary(labelKeyArb, labelValueArb, { maxKeys: 4, noNullPrototype: true });

const instanceSpecArb = fc.record({
  name: instanceNameArb,
  labels: fc.option(labelsArb, { nil: undefined, freq: 2 }),
});

type Kind = 'counter' | 'gauge' | 'string' | 'raw';
type RawType = 'i32' | 'u32' | 'i64' | 'u64' | 'float' | 'double';

const metricArb = fc.record({
  kind: fc.constantFrom<Kind>('counter', 'gauge', 'string', 'raw'),
  rawType: fc.constantFrom<RawType>('i32', 'u32', 'i64', 'u64', 'float', 'double'),
  semantics: fc.constantFrom('counter', 'instant', 'discrete' as const),
  name: metricNameArb,
  help: fc.option(textArb, { nil: undefined }),
  longHelp: fc.option(textArb, { nil: undefined }),
  units: fc.option(unitsArb, { nil: undefined }),
  labels: fc.option(labelsArb, { nil: undefined, freq: 2 }),
  /** Instances for a private domain, the index of a shared one, or none (a singleton). */
  indom: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.array(instanceSpecArb, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.nat(1) },
  ),
  /** Instances asked for once the metric exists: `vector.instance(name, labels)`. */
  late: fc.array(instanceSpecArb, { maxLength: 2 }),
  value: textArb,
  /** A second string set afterwards: refused or not, the metric must show the right one. */
  reset: fc.option(textArb, { nil: undefined }),
});

const domainArb = fc.record({
  name: metricNameArb,
  help: fc.option(textArb, { nil: undefined }),
  longHelp: fc.option(textArb, { nil: undefined }),
  labels: fc.option(labelsArb, { nil: undefined, freq: 2 }),
  instances: fc.array(instanceSpecArb, { maxLength: 4 }),
});

const runArb = fc.record({
  name: fc.oneof(
    { weight: 4, arbitrary: validName },
    { weight: 1, arbitrary: fc.constant(`r${'e'.repeat(190)}`) /* 200 bytes with the run's tag */ },
  ),
  labels: fc.option(labelsArb, { nil: undefined, freq: 2 }),
  version: fc.constantFrom(1, 2, 3 as const),
  domains: fc.array(domainArb, { maxLength: 2 }),
  metrics: fc.array(metricArb, { minLength: 5, maxLength: 40 }),
});
type Run = typeof runArb extends fc.Arbitrary<infer T> ? T : never;
type GenLabels = Record<string, LabelValue>;

// ---- the rules every refusal must show ------------------------------------------------------

/** What each error code's message must say: the rule, in words a user can act on. */
const RULES: Partial<Record<ErrorCode, RegExp>> = {
  PCP_AGENT_ERR_NAME: /naming rule|must be a non-empty string|PCP stores at most 255|200 bytes/,
  PCP_AGENT_ERR_STRING_TOO_LONG: /bytes of UTF-8; PCP strings hold at most 255/,
  PCP_AGENT_ERR_VALUE: /must not contain a NUL|must be well-formed UTF-16/,
  PCP_AGENT_ERR_INSTANCE:
    /must be a non-empty string|starts with white space|first word|reserved for the overflow/,
  PCP_AGENT_ERR_LABEL:
    /PCP's rule|must be a string, finite number, boolean or null|must not contain NUL|label record holds at most 243/,
  PCP_AGENT_ERR_UNITS: /units: \w+ must be (an integer from -?\d+ to \d+|0 when \w+ is 0), got/,
  PCP_AGENT_ERR_DUPLICATE: /is already registered|is already declared|clashes with/,
};

/**
 * A refusal must be a PcpAgentError whose message states its rule and quotes the offending
 * value (as `quote()` shows it), or for units names the field and the value it got.
 */
function expectClearRefusal(err: unknown, values: readonly unknown[], context: string): void {
  if (!(err instanceof PcpAgentError)) {
    throw new Error(`${context}: threw ${String(err)}, not a PcpAgentError`, { cause: err });
  }
  const rule = RULES[err.code];
  expect(rule, `${context}: unexpected code in ${err.message}`).toBeDefined();
  expect(err.message, context).toMatch(new RegExp(`^${err.code}: `));
  expect(err.message, context).toMatch(rule!);
  if (err.code === 'PCP_AGENT_ERR_UNITS') {
    const m = /units: (\w+) must .*, got (\S+)$/.exec(err.message)!;
    const units = values.find((v) => typeof v === 'object' && v !== null) as Record<string, number>;
    expect(String(units[m[1]!]), `${context}: ${err.message}`).toBe(m[2]);
    return;
  }
  const named = values.some((v) => typeof v === 'string' && err.message.includes(quote(v)));
  expect(named, `${context}: ${err.message} quotes none of ${JSON.stringify(values)}`).toBe(true);
}

let lastRefusal: PcpAgentError | null = null;

/** Runs a call the input may make invalid; a refusal must be clear. Returns the result or null. */
function attempt<T>(values: readonly unknown[], context: string, call: () => T): T | null {
  try {
    return call();
  } catch (err) {
    expectClearRefusal(err, values, context);
    lastRefusal = err as PcpAgentError;
    return null;
  }
}

function labelValues(labels: GenLabels | undefined): unknown[] {
  if (labels === undefined) return [];
  return [...Object.keys(labels), JSON.stringify(labels)];
}

// ---- applying a run, and what PCP must show for it -----------------------------------------

interface ExpectedInstance {
  id: number;
  name: string;
  labels: GenLabels;
}

interface ExpectedMetric {
  name: string;
  type: string;
  semantics: string;
  units: Units;
  help: string | undefined;
  longHelp: string | undefined;
  /** Merged label set PCP must show for the metric (file, domain, metric labels). */
  labels: GenLabels;
  value: number | string;
  /** Instances in domain order, with each one's value; null for a singleton. */
  instances: { instance: ExpectedInstance; value: number | string }[] | null;
  /** The metric's domain: its instances are read once every metric is registered. */
  indom: InstanceDomain | null;
}

const DEFAULT_UNITS: Record<Kind, Units> = {
  counter: { dimSpace: 0, dimTime: 0, dimCount: 1, scaleSpace: 0, scaleTime: 0, scaleCount: 0 },
  gauge: { dimSpace: 0, dimTime: 0, dimCount: 0, scaleSpace: 0, scaleTime: 0, scaleCount: 0 },
  string: { dimSpace: 0, dimTime: 0, dimCount: 0, scaleSpace: 0, scaleTime: 0, scaleCount: 0 },
  raw: { dimSpace: 0, dimTime: 0, dimCount: 0, scaleSpace: 0, scaleTime: 0, scaleCount: 0 },
};

const TYPES: Record<RawType | 'string', string> = {
  i32: '32-bit int',
  u32: '32-bit unsigned int',
  i64: '64-bit int',
  u64: '64-bit unsigned int',
  float: 'float',
  double: 'double',
  string: 'string',
};

/** A value each type holds exactly and pminfo prints exactly, distinct per metric and instance. */
function numberFor(type: RawType, n: number): number {
  switch (type) {
    case 'i32':
      return -(n + 1);
    case 'u32':
      return (n + 1) * 1000;
    case 'i64':
      return -(n + 1) * 1_000_000_007;
    case 'u64':
      return 2 ** 40 + n;
    case 'float':
      return (n + 1) / 4;
    default:
      return n + 0.125;
  }
}

/** Labels of several levels merged; keys already taken by an earlier level are dropped. */
function disjoint(levels: (GenLabels | undefined)[]): (GenLabels | undefined)[] {
  const taken = new Set<string>();
  return levels.map((l) => {
    if (l === undefined) return undefined;
    const out: GenLabels = {};
    for (const [k, v] of Object.entries(l)) if (!taken.has(k)) out[k] = v;
    for (const k of Object.keys(out)) taken.add(k);
    return out;
  });
}

interface Applied {
  registry: Registry;
  prefix: string;
  metrics: ExpectedMetric[];
  refusals: number;
}

/**
 * Registers a run's domains and metrics one call at a time, recording values as it goes; every
 * refusal is checked on the spot. Returns what PCP must show for everything accepted.
 */
function apply(run: Run, dir: string, tag: number): Applied {
  const name = `${run.name}_${tag}`;
  let refusals = 0;
  /** Names of domains and metrics accepted so far: the only ones a duplicate can be. */
  const taken = new Set<string>();
  const refused = <T>(values: readonly unknown[], context: string, call: () => T): T | null => {
    const r = attempt(values, context, call);
    if (r === null) {
      refusals++;
      if (lastRefusal?.code === 'PCP_AGENT_ERR_DUPLICATE') {
        // "already registered" must be true: a name refused earlier must not count as taken.
        const message = lastRefusal.message;
        expect(
          [...taken].some((n) => message.includes(quote(n))),
          `${context}: ${message} names nothing accepted before`,
        ).toBe(true);
      }
    }
    return r;
  };
  const base = { name, dir, flushInterval: 0, selfMetrics: false, removeOnExit: false };
  const labelled = refused(
    labelValues(run.labels),
    `registry labels ${JSON.stringify(run.labels)}`,
    () => new Registry({ ...base, version: run.version, labels: run.labels }),
  );
  const registry = labelled ?? new Registry({ ...base, version: run.version });
  const fileLabels = (labelled && run.labels) || {};

  // Shared domains: their instances, labels and accepted names, in order.
  const domains: { indom: InstanceDomain; labels: GenLabels; names: string[] }[] = [];
  const instanceLabels = new Map<InstanceDomain, Map<string, GenLabels>>();
  const addDomain = (indom: InstanceDomain, labels: GenLabels, names: string[]) => {
    domains.push({ indom, labels, names });
    instanceLabels.set(indom, new Map(names.map((n) => [n, {}])));
  };
  for (const d of run.domains) {
    const [, dl] = disjoint([fileLabels, d.labels]);
    const indom = refused(
      [d.name, d.help, d.longHelp, ...labelValues(dl)],
      `instance domain ${quote(d.name)}`,
      () => registry.instanceDomain(d.name, { help: d.help, longHelp: d.longHelp, labels: dl }),
    );
    if (indom === null) continue;
    taken.add(d.name);
    addDomain(indom, dl ?? {}, []);
    for (const spec of d.instances) addInstance(indom, spec, fileLabels);
  }

  function addInstance(
    indom: InstanceDomain,
    spec: { name: string; labels?: GenLabels },
    above: GenLabels,
    vector?: MetricVector<unknown>,
  ): boolean {
    const domain = domains.find((d) => d.indom === indom)!;
    const [, il] = disjoint([{ ...above, ...domain.labels }, spec.labels]);
    const known = domain.names.includes(spec.name);
    const ok = refused(
      [spec.name, ...labelValues(il)],
      `instance ${quote(spec.name)} of ${quote(indom.name)}`,
      () => (vector ? vector.instance(spec.name, il) : indom.add({ name: spec.name, labels: il })),
    );
    if (ok === null) return false;
    if (!known) {
      domain.names.push(spec.name);
      // instance('_overflow', labels) creates the overflow instance with those labels, as
      // any instance: only the first call that creates it gives it labels.
      instanceLabels.get(indom)!.set(spec.name, il ?? {});
    }
    return true;
  }

  const metrics: ExpectedMetric[] = [];
  const values = new Map<string, Map<string, number | string>>();
  run.metrics.forEach((m, i) => {
    const shared = typeof m.indom === 'number' ? domains[m.indom]?.indom : undefined;
    const domainLabels = shared ? domains.find((d) => d.indom === shared)!.labels : {};
    const [, , ml] = disjoint([fileLabels, domainLabels, m.labels]);
    const options = {
      help: m.help,
      longHelp: m.longHelp,
      labels: ml,
      ...(m.kind === 'string' ? {} : { units: m.units }),
      ...(shared ? { indom: shared } : Array.isArray(m.indom) ? { indom: m.indom } : {}),
    };
    const inputs = [
      m.name,
      m.help,
      m.longHelp,
      m.units,
      ...labelValues(ml),
      ...(Array.isArray(m.indom) ? m.indom.flatMap((s) => [s.name, ...labelValues(s.labels)]) : []),
    ];
    const context = `${m.kind} ${quote(m.name)}`;
    // biome-ignore lint/suspicious/noExplicitAny: one call site for four kinds of options
    const o = options as any;
    const handle = refused(inputs, context, () => {
      switch (m.kind) {
        case 'counter':
          return registry.counter(m.name, o);
        case 'gauge':
          return registry.gauge(m.name, o);
        case 'string':
          return registry.string(m.name, o);
        default:
          return registry.metric(m.name, { ...o, type: m.rawType, semantics: m.semantics });
      }
    });
    if (handle === null) return;
    taken.add(m.name);
    const vector = 'indom' in handle ? (handle as MetricVector<unknown>) : null;
    let indom: InstanceDomain | null = null;
    if (vector) {
      indom = vector.indom;
      if (!domains.some((d) => d.indom === indom)) {
        const names = (m.indom as { name: string }[]).map((s) => s.name);
        addDomain(indom, {}, []);
        const d = domains.find((x) => x.indom === indom)!;
        d.names.push(...names.filter((n, k) => names.indexOf(n) === k));
        const labels = instanceLabels.get(indom)!;
        for (const s of m.indom as { name: string; labels?: GenLabels }[]) {
          // A name listed twice is one instance, with the labels it was first given.
          if (!labels.has(s.name)) labels.set(s.name, s.labels ?? {});
        }
      }
      for (const spec of m.late) addInstance(indom, spec, { ...fileLabels, ...ml }, vector);
    }

    // Values: a distinct one per metric and instance, set through the public handles.
    const kindType = m.kind === 'counter' ? 'u64' : m.kind === 'gauge' ? 'double' : m.rawType;
    const perInstance = new Map<string, number | string>();
    values.set(m.name, perInstance);
    const set = (h: unknown, key: string, k: number) => {
      if (m.kind === 'string') {
        const s = h as { set(v: string): void };
        let v = attempt([m.value], `${context} set`, () => s.set(m.value)) === null ? '' : m.value;
        if (m.reset !== undefined) {
          const reset = m.reset;
          if (attempt([reset], `${context} reset`, () => s.set(reset)) !== null) v = reset;
        }
        perInstance.set(key, v);
        return;
      }
      const n = numberFor(kindType as RawType, i * 10 + k);
      if (m.kind === 'counter') (h as { add(n: number): void }).add(n);
      else (h as { set(n: number): void }).set(n);
      perInstance.set(key, n);
    };
    if (vector && indom) {
      indom.instances.forEach((inst, k) => {
        set(vector.instance(inst.name), inst.name, k);
      });
    } else {
      set(handle, '', 0);
    }
    metrics.push({
      name: m.name,
      type: m.kind === 'string' ? 'string' : kindType,
      semantics:
        m.kind === 'counter'
          ? 'counter'
          : m.kind === 'raw'
            ? m.semantics
            : m.kind === 'string'
              ? 'discrete'
              : 'instant',
      units: m.kind === 'string' ? DEFAULT_UNITS.string : (m.units ?? DEFAULT_UNITS[m.kind]),
      help: m.help,
      longHelp: m.longHelp,
      labels: { ...fileLabels, ...domainLabels, ...(ml ?? {}) },
      value: perInstance.get('') ?? 0,
      instances: vector && indom ? [] : null,
      indom,
    });
  });

  // Instances are known only now: later metrics may have added to a shared domain.
  for (const e of metrics) {
    const indom = e.indom;
    if (indom === null) continue;
    const domain = domains.find((d) => d.indom === indom)!;
    // What the library holds is exactly what was accepted, in order.
    expect(indom.instances.map((i) => i.name)).toEqual(domain.names);
    const mv = values.get(e.name)!;
    e.instances = indom.instances.map((inst) => ({
      instance: {
        id: inst.id,
        name: inst.name,
        labels: { ...e.labels, ...(instanceLabels.get(indom)!.get(inst.name) ?? {}) },
      },
      value: mv.get(inst.name) ?? (e.type === 'string' ? '' : 0),
    }));
  }
  return { registry, prefix: `mmv.${name}`, metrics, refusals };
}

// ---- what pminfo prints ---------------------------------------------------------------------

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NO_HELP = 'One-line or help text is not available';
const NO_PMID = 'Unknown or illegal metric identifier';

/**
 * The exact block pminfo -dmtT prints for a metric: only the PMID and the indom number are
 * left open. Help may span lines (blank ones too), so the block must end where the next
 * metric's header begins. An empty help text is no help: the writer stores none for it.
 */
function descriptionPattern(prefix: string, e: ExpectedMetric): RegExp {
  const short = e.help || undefined;
  const long = e.longHelp || short;
  let head = short === undefined ? `One-line Help: Error: ${NO_HELP}` : `[${short}]`;
  // pminfo prints help without its trailing newlines (PCP holds them; pminfo trims for display).
  const shown = long?.replace(/\n+$/, '');
  let help =
    shown === undefined
      ? `Full Help: Error: ${NO_HELP}\n`
      : shown === ''
        ? 'Help: <empty entry>\n'
        : `Help:\n${shown}\n`;
  if (e.instances?.length === 0) {
    // pmdammv finds help through the metric's values, and a domain without instances gives it
    // none: PCP 6.0.3 shows no help for such a metric until its first instance exists.
    head = `One-line Help: Error: ${NO_PMID}`;
    help = `Full Help: Error: ${NO_PMID}\n`;
  }
  const indom = e.instances === null ? 'PM_INDOM_NULL 0xffffffff' : null;
  return new RegExp(
    `(?:^|\\n)${esc(`${prefix}.${e.name}`)} PMID: 70\\.\\d+\\.\\d+ ${esc(head)}\\n` +
      `    Data Type: ${esc(TYPES[e.type as RawType])}  InDom: ${indom === null ? '70\\.\\d+ 0x[0-9a-f]+' : esc(indom)}\\n` +
      `    Semantics: ${e.semantics}  Units: ${esc(pmUnitsStr(e.units))}\\n` +
      `${esc(help)}(?=$|\\n\\S+ PMID: 70\\.)`,
  );
}

/** Splits -f or -l output into each expected metric's block (its header line excluded). */
function blocks(out: string, prefix: string, metrics: readonly ExpectedMetric[]) {
  const starts = metrics
    .map((e) => {
      const header = `\n${prefix}.${e.name}\n`;
      const at = out.indexOf(header);
      expect(at, `pminfo does not show ${prefix}.${e.name}`).toBeGreaterThanOrEqual(0);
      return { e, at, body: at + header.length };
    })
    .sort((a, b) => a.at - b.at);
  return starts.map((s, k) => ({
    e: s.e,
    text: out.slice(s.body, starts[k + 1]?.at ?? out.length),
  }));
}

/** Reads a value printed at `at`: a string exactly (it may hold newlines), a number by value. */
function expectValue(text: string, at: number, value: number | string, what: string): number {
  if (typeof value === 'string') {
    const printed = `"${value}"\n`;
    expect(text.slice(at, at + printed.length), what).toBe(printed);
    return at + printed.length;
  }
  const end = text.indexOf('\n', at);
  expect(Number(text.slice(at, end)), what).toBe(value);
  return end + 1;
}

function expectValues(text: string, e: ExpectedMetric, what: string): void {
  if (e.instances === null) {
    expect(text.startsWith('    value '), `${what}: ${text}`).toBe(true);
    const end = expectValue(text, 10, e.value, what);
    expect(text.slice(end), what).toMatch(/^\n?$/);
    return;
  }
  if (e.instances.length === 0) {
    expect(text, what).toMatch(/^ *No value\(s\) available!\n\n?$/);
    return;
  }
  let at = 0;
  for (const { instance, value } of e.instances) {
    const prefix = `    inst [${instance.id} or "${instance.name}"] value `;
    expect(text.slice(at, at + prefix.length), `${what} ${quote(instance.name)}`).toBe(prefix);
    at = expectValue(text, at + prefix.length, value, `${what} ${quote(instance.name)}`);
  }
  expect(text.slice(at), what).toMatch(/^\n?$/);
}

/** Our labels exactly (JSON-equal), and besides them only PCP's own. */
function expectLabels(json: string, want: GenLabels, what: string): void {
  let got: Record<string, unknown>;
  try {
    got = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new Error(`${what}: pminfo printed labels that are not JSON: ${JSON.stringify(json)}`);
  }
  for (const [k, v] of Object.entries(want)) {
    expect(JSON.stringify(got[k]), `${what}: label ${k} in ${json}`).toBe(JSON.stringify(v));
  }
  for (const k of Object.keys(got)) {
    if (!(k in want)) expect(PCP_OWN_LABEL_KEYS, `${what}: extra label ${k}`).toContain(k);
  }
}

function expectLabelLines(text: string, e: ExpectedMetric, what: string): void {
  const line = (at: number, prefix: string, want: GenLabels, whose: string): number => {
    expect(text.slice(at, at + prefix.length), whose).toBe(prefix);
    const end = text.indexOf('\n', at + prefix.length);
    expectLabels(text.slice(at + prefix.length, end), want, whose);
    return end + 1;
  };
  let at = line(0, '    labels ', e.labels, what);
  for (const { instance } of e.instances ?? []) {
    const prefix = `    inst [${instance.id} or "${instance.name}"] labels `;
    at = line(at, prefix, instance.labels, `${what} ${quote(instance.name)}`);
  }
  expect(text.slice(at), what).toMatch(/^\n?$/);
}

/** What real PCP shows under the run's prefix: descriptions, help, values and labels. */
async function expectPcpReadsBack(pcpTmpDir: string, a: Applied): Promise<void> {
  if (a.metrics.length === 0) {
    // Everything refused: PCP must show nothing at all under the prefix.
    await expect(pminfo(pcpTmpDir, ['-f'], [a.prefix])).rejects.toThrow(/Unknown metric name/);
    return;
  }
  const [described, fetched, labelled] = await Promise.all([
    pminfo(pcpTmpDir, ['-dmtT'], [a.prefix]),
    pminfo(pcpTmpDir, ['-f'], [a.prefix]),
    pminfo(pcpTmpDir, ['-l'], [a.prefix]),
  ]);
  const headers = described.match(/(?:^|\n)\S+ PMID: 70\.\d+\.\d+ /g) ?? [];
  expect(headers, 'metrics PCP shows').toHaveLength(a.metrics.length);
  for (const e of a.metrics) {
    expect(described, `description of ${e.name}`).toMatch(descriptionPattern(a.prefix, e));
  }
  for (const { e, text } of blocks(fetched, a.prefix, a.metrics)) {
    expectValues(text, e, `values of ${quote(e.name)}`);
  }
  for (const { e, text } of blocks(labelled, a.prefix, a.metrics)) {
    expectLabelLines(text, e, `labels of ${quote(e.name)}`);
  }
}

// ---- the tests ------------------------------------------------------------------------------

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-fuzz-api-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('the public API under generated input (our reader as the judge)', () => {
  it(
    `refuses clearly, or publishes what was set; a refusal loses nothing (${LOCAL_RUNS} runs)`,
    () => {
      let tag = 0;
      fc.assert(
        fc.property(runArb, (run) => {
          const dir = fs.mkdtempSync(path.join(scratch, 'local-'));
          const a = apply(run, dir, tag++);
          try {
            a.registry.start();
            expect(a.registry.published).toBe(true);
            const file = readMmvFile(a.registry.path);
            expect(file.warnings).toEqual([]);
            const names = new Set(file.metrics.map((m) => m.name));
            for (const e of a.metrics) expect(names.has(e.name), e.name).toBe(true);
            expect(file.metrics).toHaveLength(a.metrics.length);
            for (const e of a.metrics) {
              const got = file.values.filter((v) => v.metric === e.name);
              const want = e.instances ?? [{ instance: null, value: e.value }];
              const plain = (x: unknown) => (typeof x === 'bigint' ? Number(x) : x);
              expect(got.map((v) => [v.instance, plain(v.value)])).toEqual(
                want.map((w) => [w.instance?.name ?? null, w.value]),
              );
            }
          } finally {
            a.registry.stop();
            fs.rmSync(dir, { recursive: true, force: true });
          }
        }),
        { numRuns: LOCAL_RUNS, seed: SEED, endOnFailure: true },
      );
    },
    60_000 + LOCAL_RUNS * 20,
  );

  it('refuses bad registry names with the rule and the name', () => {
    fc.assert(
      fc.property(metricNameArb, (name) => {
        const r = attempt([name], `registry ${quote(name)}`, () => {
          return new Registry({ name, dir: scratch, flushInterval: 0, removeOnExit: false });
        });
        if (r !== null) {
          expect(name).toMatch(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/);
          expect(byteLength(name)).toBeLessThanOrEqual(200);
        }
      }),
      { numRuns: 2000, seed: SEED },
    );
  });
});

describe('rules the fuzzing found', () => {
  const registry = () =>
    new Registry({ name: 'rules', dir: scratch, flushInterval: 0, removeOnExit: false });

  it('refuses a lone surrogate in help, string values and instance names, naming it', () => {
    const r = registry();
    expect(() => r.counter('a', { help: 'bad \ud800 half' })).toThrow(
      /^PCP_AGENT_ERR_VALUE: help of metric "a" must be well-formed UTF-16: it holds a lone surrogate U\+D800 at index 4, which UTF-8 cannot encode: "bad \\ud800 half"$/,
    );
    const s = r.string('s', { value: 'ok' });
    expect(() => s.set('\udc00')).toThrow(/lone surrogate U\+DC00 at index 0/);
    expect(s.value).toBe('ok');
    expect(() => r.counter('c', { indom: ['x\ud83d'] })).toThrow(/lone surrogate U\+D83D/);
  });

  it('takes a surrogate pair (an emoji) as the UTF-8 it is', () => {
    const r = registry();
    expect(() => r.string('e', { value: '😀', help: '😀' })).not.toThrow();
  });
});

describe('values String() cannot convert', () => {
  // Each is refused with our error naming the value, not a TypeError from building the message.
  const hostile: [string, unknown][] = [
    ['a null-prototype object', Object.create(null)],
    [
      'an object whose toString throws',
      {
        toString: () => {
          throw new Error('boom');
        },
      },
    ],
    ['a symbol', Symbol('s')],
    ['an array holding a null-prototype object', [Object.create(null)]],
  ];
  const registry = () =>
    new Registry({ name: 'hostile', dir: scratch, flushInterval: 0, removeOnExit: false });

  it.each(hostile)('%s is refused with a PcpAgentError at every checked entry point', (_, v) => {
    const r = registry();
    const c = r.counter('c');
    c.add(2);
    const s = r.string('s', { value: 'kept' });
    const any = v as never;
    const refusals: [ErrorCode, () => unknown][] = [
      ['PCP_AGENT_ERR_NAME', () => r.counter(any)],
      ['PCP_AGENT_ERR_NAME', () => r.gauge(any)],
      ['PCP_AGENT_ERR_NAME', () => r.histogram(any)],
      ['PCP_AGENT_ERR_NAME', () => r.string(any)],
      ['PCP_AGENT_ERR_NAME', () => r.instanceDomain(any)],
      ['PCP_AGENT_ERR_NAME', () => new Registry({ name: any, dir: scratch })],
      ['PCP_AGENT_ERR_VALUE', () => r.counter('h1', { help: any })],
      ['PCP_AGENT_ERR_VALUE', () => s.set(any)],
      ['PCP_AGENT_ERR_VALUE', () => c.add(any)],
      ['PCP_AGENT_ERR_LABEL', () => r.counter('l1', { labels: { k: any } })],
    ];
    for (const [code, f] of refusals) {
      let thrown: unknown;
      try {
        f();
      } catch (err) {
        thrown = err;
      }
      expect(thrown, `${f}`).toBeInstanceOf(PcpAgentError);
      expect((thrown as PcpAgentError).code, `${f}`).toBe(code);
      expect((thrown as Error).message, `${f}`).toContain(quote(v));
    }
    // Nothing already recorded is lost.
    expect(c.value).toBe(2);
    expect(s.value).toBe('kept');
  });

  it('quote() prints them', () => {
    expect(quote(Object.create(null))).toBe('[Object: null prototype] {}');
    expect(quote(Symbol('s'))).toBe('Symbol(s)');
    expect(
      quote({
        toString: () => {
          throw new Error('boom');
        },
      }),
    ).toMatch(/^\{ toString: /);
  });
});

describe('a refused registration leaves nothing behind', () => {
  it('a metric refused for a bad instance name can be registered again, corrected', () => {
    const r = new Registry({ name: 'again', dir: scratch, flushInterval: 0, removeOnExit: false });
    expect(() => r.counter('requests', { indom: ['ok', ''] })).toThrow(PcpAgentError);
    expect(() => r.counter('requests', { indom: ['ok'] })).not.toThrow();
  });

  it('a metric refused for its help text can be registered again, corrected', () => {
    const r = new Registry({ name: 'again2', dir: scratch, flushInterval: 0, removeOnExit: false });
    expect(() => r.counter('requests', { indom: ['ok'], help: 'x'.repeat(256) })).toThrow(
      PcpAgentError,
    );
    expect(() => r.counter('requests', { indom: ['ok'], help: 'fine' })).not.toThrow();
  });
});

describePcp('the public API under generated input (real PCP as the judge)', () => {
  it(
    `refuses clearly, or pminfo reads back names, help, units, instances, values and labels (${PCP_RUNS} runs)`,
    async () => {
      let tag = 0;
      let metrics = 0;
      let refusals = 0;
      await fc.assert(
        fc.asyncProperty(runArb, async (run) => {
          const pcpTmpDir = makePcpTmpDir();
          const a = apply(run, path.join(pcpTmpDir, 'mmv'), tag++);
          try {
            a.registry.start();
            expect(a.registry.published).toBe(true);
            await expectPcpReadsBack(pcpTmpDir, a);
            metrics += a.metrics.length;
            refusals += a.refusals;
          } finally {
            a.registry.stop();
            removePcpTmpDir(pcpTmpDir);
          }
        }),
        // No shrinking: each step costs three pminfo runs; the failure names the metric.
        { numRuns: PCP_RUNS, seed: SEED, endOnFailure: true },
      );
      console.log(
        `fuzz-api: ${PCP_RUNS} files (seed ${SEED}): ${metrics} metrics read back exactly by pminfo, ${refusals} calls refused clearly`,
      );
    },
    120_000 + PCP_RUNS * 20_000,
  );
});
