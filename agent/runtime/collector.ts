// What a runtime collector is: one small module that declares the metrics it owns and sets
// them from one reading of the runtime before each flush (prom-client's default collectors).

import type { Registry } from '../../src/index';
import type { AgentContext } from '../types';

/** The warning code of every runtime collector's fault. */
export const RUNTIME_WARNING = 'PCP_AGENT_WARN_RUNTIME';

/** A started collector. */
export interface RuntimeCollector {
  /** Reads the runtime and sets this collector's metrics; called before each flush. */
  sample(): void;
  /** Stops what start() began (observers, timers). The metrics stay, with their last values. */
  stop(): void;
}

export interface CollectorDefinition {
  /** Its name in warnings: `eventloop`, `gc`, `memory`, ... */
  readonly name: string;
  /**
   * Declares its metrics and starts observing. Returns null, having declared nothing, when
   * this platform cannot supply the values: no metric is better than a wrong one.
   */
  start(ctx: AgentContext): RuntimeCollector | null;
}

const declared = new WeakMap<Registry, Map<string, unknown>>();

/**
 * A collector's metrics in a registry, declared the first time only: a registry cannot
 * unregister, so enabling again after disable() samples into the same metrics.
 */
export function declareOnce<T>(registry: Registry, collector: string, declare: () => T): T {
  let byCollector = declared.get(registry);
  if (!byCollector) {
    byCollector = new Map();
    declared.set(registry, byCollector);
  }
  if (byCollector.has(collector)) return byCollector.get(collector) as T;
  const metrics = declare();
  byCollector.set(collector, metrics);
  return metrics;
}
