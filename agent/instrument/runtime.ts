// Runtime metrics: the event loop, GC, memory, CPU, active resources, file descriptors and
// versions, sampled before each flush by one small collector per file in agent/runtime/.

import type { Registry } from '../../src/index';
import {
  type CollectorDefinition,
  RUNTIME_WARNING,
  type RuntimeCollector,
} from '../runtime/collector';
import { eventLoopCollector } from '../runtime/event-loop';
import { fdsCollector } from '../runtime/fds';
import { gcCollector } from '../runtime/gc';
import { heapSpacesCollector } from '../runtime/heap-spaces';
import { memoryCollector } from '../runtime/memory';
import { processCollector } from '../runtime/process';
import { resourceUsageCollector } from '../runtime/resource-usage';
import { resourcesCollector } from '../runtime/resources';
import type { AgentContext, Instrumentation } from '../types';

/** Every collector, in the order they sample. */
export const RUNTIME_COLLECTORS: readonly CollectorDefinition[] = [
  processCollector,
  memoryCollector,
  heapSpacesCollector,
  resourceUsageCollector,
  resourcesCollector,
  fdsCollector,
  gcCollector,
  eventLoopCollector,
];

/** Registries sampled now: a second runtime instrumentation on one would count GCs twice. */
const sampled = new WeakSet<Registry>();

export function runtimeInstrumentation(): Instrumentation {
  let ctx: AgentContext | null = null;
  let running: { name: string; collector: RuntimeCollector }[] = [];
  let unsubscribe: (() => void) | null = null;

  const sampleAll = (): void => {
    // One collector's failure must not stop the others.
    for (const { name, collector } of running) {
      try {
        collector.sample();
      } catch (err) {
        ctx?.fault(RUNTIME_WARNING, `runtime collector "${name}" failed to sample`, err);
      }
    }
  };

  return {
    name: 'runtime',

    enable(agent) {
      if (ctx) return;
      if (sampled.has(agent.registry)) {
        agent.fault(
          RUNTIME_WARNING,
          'runtime metrics are already sampled for this registry; a second runtime instrumentation does nothing',
        );
        return;
      }
      ctx = agent;
      sampled.add(agent.registry);
      for (const definition of RUNTIME_COLLECTORS) {
        try {
          const collector = definition.start(agent);
          if (collector) running.push({ name: definition.name, collector });
        } catch (err) {
          agent.fault(
            RUNTIME_WARNING,
            `runtime collector "${definition.name}" could not start; its metrics are not sampled`,
            err,
          );
        }
      }
      unsubscribe = agent.registry.beforeFlush(sampleAll);
    },

    disable() {
      if (!ctx) return;
      unsubscribe?.();
      unsubscribe = null;
      for (const { name, collector } of running) {
        try {
          collector.stop();
        } catch (err) {
          ctx.fault(RUNTIME_WARNING, `runtime collector "${name}" failed to stop`, err);
        }
      }
      running = [];
      sampled.delete(ctx.registry);
      ctx = null;
    },
  };
}
