// What keeps the event loop alive, from process.getActiveResourcesInfo(). Owns
// runtime.resources.active: a count, instant, over indom runtime.resources.types (Timeout,
// TCPSocketWrap, FSReqCallback, ...), which grows as types appear, up to MAX_RESOURCE_TYPES.

import type { RawMetric } from '../../src/index';
import { Units } from '../../src/index';
import { type CollectorDefinition, declareOnce, RUNTIME_WARNING } from './collector';

/** Node has a few dozen resource types; past this cap new ones count under `_overflow`. */
export const MAX_RESOURCE_TYPES = 64;

export const resourcesCollector: CollectorDefinition = {
  name: 'resources',
  start(ctx) {
    const { registry } = ctx;
    const active = declareOnce(registry, 'resources', () =>
      registry.metric('runtime.resources.active', {
        type: 'u32',
        semantics: 'instant',
        units: Units.count(),
        indom: registry.instanceDomain('runtime.resources.types', {
          maxInstances: MAX_RESOURCE_TYPES,
          help: 'Types of the resources keeping the event loop alive (handles, requests, timers)',
        }),
        help: 'Resources keeping the event loop alive, by type (unref()ed ones excluded)',
      }),
    );
    /** Each type's handle, once looked up (types past the cap share `_overflow`'s); null if refused. */
    const byType = new Map<string, RawMetric | null>();
    const counts = new Map<string, number>();
    return {
      sample() {
        counts.clear();
        for (const type of process.getActiveResourcesInfo()) {
          counts.set(type, (counts.get(type) ?? 0) + 1);
        }
        // A type no longer active reads 0, not its last count.
        for (const h of byType.values()) h?.set(0);
        for (const [type, n] of counts) {
          let h = byType.get(type);
          if (h === undefined) {
            try {
              h = active.instance(type);
            } catch (err) {
              h = null;
              ctx.fault(
                RUNTIME_WARNING,
                `resource type ${JSON.stringify(type)} not published`,
                err,
              );
            }
            byType.set(type, h);
          }
          h?.set(h.value + n);
        }
      },
      stop() {},
    };
  },
};
