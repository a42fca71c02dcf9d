// What each decorator accepts, and the checks that run when a class is defined, so that a bad
// option is an error naming the decorator, the member, the rule and the value, never a metric
// that vanishes later.

import { PcpAgentError, quote } from '../errors';
import { byteLength } from '../mmv/encode';
import { checkUnits, type TimeScale, Units } from '../mmv/units';
import { HistogramFamily, histogramConfig } from '../registry/kinds/histogram';
import { TimerFamily } from '../registry/kinds/timer';
import type { Registry } from '../registry/registry';
import {
  checkInstanceName,
  checkMetricName,
  checkString,
  type Labels,
  labelPayload,
  MAX_STRING_BYTES,
} from '../registry/validate';

export type DecoratorKind = 'counter' | 'timer' | 'histogram' | 'gauge';

/** Options every decorator takes. */
export interface DecoratorOptions {
  /**
   * The metric name in the file (PCP shows `mmv.<app>.<name>…`); default
   * `methods.<Class>.<member>`. pmdammv's rule: dot-separated parts, each a letter and then
   * letters, digits and `_`.
   */
  name?: string;
  /** One-line help (pminfo -t), at most 255 bytes with the suffix each metric adds. */
  help?: string;
  /** Long help (pminfo -T), at most 255 bytes. */
  longHelp?: string;
  /** PCP labels on the metrics (pminfo -l). */
  labels?: Labels;
  /** Where the metrics go; default the process's default registry, the agent's when it runs. */
  registry?: Registry;
}

/** Options of the decorators that observe calls: @Counter, @Timer, @Histogram. */
export interface CallDecoratorOptions extends DecoratorOptions {
  /**
   * The PCP instance a call is counted under, from the call's arguments (called with the
   * method's `this` and arguments, before the method). A non-string, an invalid name, or a
   * throw counts the call under `_invalid`; past the domain's cap (1000) names fold into
   * `_overflow`.
   */
  instance?(...args: unknown[]): string;
  /** Instances known up front: PCP shows them with zeros before their first call. */
  instances?: readonly string[];
}

export type CounterDecoratorOptions = CallDecoratorOptions;

export interface TimerDecoratorOptions extends CallDecoratorOptions {
  /** The unit of `<name>.time`; default 'msec'. */
  unit?: TimeScale;
}

export interface HistogramDecoratorOptions extends CallDecoratorOptions {
  /** The unit durations are recorded in; default 'msec'. */
  unit?: TimeScale;
  /** Upper bounds of cumulative buckets, ascending, in `unit`; default none. */
  buckets?: readonly number[];
  /** Percentiles to export, each in (0, 100]; default [50, 90, 99]. */
  percentiles?: readonly number[];
  /** Milliseconds each min/max/percentile window lasts; default 10000. */
  window?: number;
}

export interface GaugeDecoratorOptions extends DecoratorOptions {
  /** Units of the value; default none. */
  units?: Units;
  /** Default 'instant'; 'discrete' for values that rarely change. */
  semantics?: 'instant' | 'discrete';
  /**
   * On an instance member: the PCP instance each object's value goes to (objects with one
   * name are summed). Without it, the values of all live objects are summed.
   */
  instance?(target: unknown): string;
  /** Instances known up front. */
  instances?: readonly string[];
}

export type AnyDecoratorOptions = TimerDecoratorOptions &
  HistogramDecoratorOptions &
  GaugeDecoratorOptions;

const COMMON = ['name', 'help', 'longHelp', 'labels', 'registry'];
const CALL = [...COMMON, 'instance', 'instances'];
const ALLOWED: Readonly<Record<DecoratorKind, readonly string[]>> = {
  counter: CALL,
  timer: [...CALL, 'unit'],
  histogram: [...CALL, 'unit', 'buckets', 'percentiles', 'window'],
  gauge: [...COMMON, 'units', 'semantics', 'instance', 'instances'],
};

export const DECORATOR_NAMES: Readonly<Record<DecoratorKind, string>> = {
  counter: '@Counter',
  timer: '@Timer',
  histogram: '@Histogram',
  gauge: '@Gauge',
};

/** The suffix the longest generated help text adds to the user's help. */
const HELP_SUFFIX = ' (errors)';

function optionError(where: string, message: string): PcpAgentError {
  return new PcpAgentError('PCP_AGENT_ERR_OPTION', `${where}: ${message}`);
}

/** A PcpAgentError from a check, re-thrown naming the decorator and member it came from. */
export function atSite(where: string, err: unknown): unknown {
  if (!(err instanceof PcpAgentError)) return err;
  const message = err.message.startsWith(`${err.code}: `)
    ? err.message.slice(err.code.length + 2)
    : err.message;
  return new PcpAgentError(err.code, `${where}: ${message}`, { cause: err });
}

/**
 * Checks options when the decorator is created (`@Timer({...})`): unknown keys, names, texts,
 * labels, units, buckets. Returns them with defaults that never change.
 */
export function checkOptions<O extends DecoratorOptions>(
  kind: DecoratorKind,
  options: O | undefined,
): O {
  const where = DECORATOR_NAMES[kind];
  if (options === undefined || options === null) return {} as O;
  if (typeof options !== 'object') {
    throw optionError(
      where,
      typeof options === 'function'
        ? `options must be an object, got a function: write ${where}() with parentheses, not ${where}`
        : `options must be an object, got ${quote(options)}`,
    );
  }
  const o = options as AnyDecoratorOptions;
  for (const key of Object.keys(o)) {
    if (!ALLOWED[kind].includes(key)) {
      throw optionError(
        where,
        `unknown option ${quote(key)}; it takes ${ALLOWED[kind].map((k) => `'${k}'`).join(', ')}`,
      );
    }
  }
  try {
    if (o.name !== undefined) checkMetricName(o.name, `name`);
    if (o.help !== undefined) {
      checkString(o.help, 'help');
      const n = byteLength(o.help) + HELP_SUFFIX.length;
      if (n > MAX_STRING_BYTES) {
        throw new PcpAgentError(
          'PCP_AGENT_ERR_STRING_TOO_LONG',
          `help is ${byteLength(o.help)} bytes of UTF-8; with the ${quote(HELP_SUFFIX)} added to the errors metric's help it must fit PCP's ${MAX_STRING_BYTES}: ${quote(o.help)}`,
        );
      }
    }
    if (o.longHelp !== undefined) checkString(o.longHelp, 'longHelp');
    if (o.labels !== undefined) labelPayload(o.labels, 'labels');
    if (o.registry !== undefined && !isRegistry(o.registry)) {
      throw optionError('registry', `must be a Registry, got ${quote(o.registry)}`);
    }
    if (o.instance !== undefined && typeof o.instance !== 'function') {
      throw optionError(
        'instance',
        `must be a function returning an instance name, got ${quote(o.instance)}`,
      );
    }
    if (o.instances !== undefined) {
      if (!Array.isArray(o.instances)) {
        throw optionError(
          'instances',
          `must be an array of instance names, got ${quote(o.instances)}`,
        );
      }
      if (o.instance === undefined) {
        throw optionError(
          'instances',
          'declares instances up front for the instance option, which is missing',
        );
      }
      for (const name of o.instances) checkInstanceName(name);
    }
    if (o.unit !== undefined) Units.time(o.unit);
    if (o.units !== undefined) checkUnits(o.units);
    if (o.semantics !== undefined && o.semantics !== 'instant' && o.semantics !== 'discrete') {
      throw optionError('semantics', `must be 'instant' or 'discrete', got ${quote(o.semantics)}`);
    }
    checkHelpOfEachMetric(kind, o);
  } catch (err) {
    throw atSite(where, err);
  }
  return options;
}

/** The help texts the registry will derive (`<help> (count)`, `<help>: p99 …`) fit too. */
function checkHelpOfEachMetric(kind: DecoratorKind, o: AnyDecoratorOptions): void {
  if (kind === 'timer') {
    for (const spec of TimerFamily.specs(o)) if (spec.help) checkString(spec.help, 'help');
  } else if (kind === 'histogram') {
    const config = histogramConfig(o, o.name ?? 'histogram');
    for (const spec of HistogramFamily.specs(o, config)) {
      if (spec.help) checkString(spec.help, 'help');
    }
  }
}

/** A Registry, also one from another copy of the library (instanceof would say no). */
export function isRegistry(x: unknown): x is Registry {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Registry).counter === 'function' &&
    typeof (x as Registry).beforeFlush === 'function'
  );
}
