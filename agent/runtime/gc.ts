// Garbage collection by kind, from PerformanceObserver 'gc' entries. Owns runtime.gc.count
// (collections) and runtime.gc.time (msec of pause), counters over indom runtime.gc.kinds.
//
// Off unless PCP_AGENT_GC is set. For each collection Node (20 and later, until
// nodejs/node#58531) builds the entry's deprecated `kind` and `flags` accessors: four
// util.deprecate() wrappers, each making a new function the prototype of another. V8 keeps
// those in the old generation (--trace-gc-nvp: 3.5 KB promoted per scavenge with any gc
// observer, 0.5 KB without), and each scavenge of the agent's server took 0.68 ms against
// 0.49. In bench/http.js the agent's server cost 2-5% more CPU per request with this
// collector than without it (3.3% on average, six runs); an observer of our own with nothing
// in its callback cost as much, so the entries are what cost, not the callback. No
// public API gives per-kind counts and pauses without them (v8.GCProfiler measured worse).

import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { Counter, RawMetric } from '../../src/index';
import { Units } from '../../src/index';
import { type CollectorDefinition, declareOnce, RUNTIME_WARNING } from './collector';

/** V8's collection kinds, by the `detail.kind` of a gc entry. */
export const GC_KINDS: ReadonlyMap<number, string> = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

interface KindMetrics {
  count: Counter;
  time: RawMetric;
}

export const gcCollector: CollectorDefinition = {
  name: 'gc',
  start(ctx) {
    if (!ctx.config.gc) return null;
    const { registry } = ctx;
    const byKind = declareOnce(registry, 'gc', () => {
      const indom = registry.instanceDomain('runtime.gc.kinds', {
        instances: [...GC_KINDS.values()],
        help: 'V8 garbage collections: minor (scavenge), major (mark-sweep-compact), incremental (marking), weakcb (weak callbacks)',
      });
      const count = registry.counter('runtime.gc.count', {
        indom,
        help: 'Garbage collections, by kind',
      });
      const time = registry.metric('runtime.gc.time', {
        type: 'double',
        semantics: 'counter',
        units: Units.time('msec'),
        indom,
        help: 'Time the main thread spent paused in garbage collection, by kind',
      });
      const out = new Map<number, KindMetrics>();
      for (const [code, kind] of GC_KINDS) {
        out.set(code, { count: count.instance(kind), time: time.instance(kind) });
      }
      return out;
    });

    const observer = new PerformanceObserver((list) => {
      try {
        for (const entry of list.getEntries()) {
          const detail = (entry as { detail?: { kind?: number } | null }).detail;
          const kind = byKind.get(detail?.kind ?? -1);
          if (!kind) continue;
          kind.count.inc();
          kind.time.set(kind.time.value + entry.duration);
        }
      } catch (err) {
        ctx.fault(RUNTIME_WARNING, 'counting garbage collections failed', err);
      }
    });
    observer.observe({ entryTypes: ['gc'] });

    return {
      sample() {
        // Counted as the entries arrive.
      },
      stop() {
        observer.disconnect();
      },
    };
  },
};
