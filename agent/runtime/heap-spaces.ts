// V8 heap spaces from v8.getHeapSpaceStatistics(). Owns runtime.heap.space.{size,used,
// available}: bytes, instant, over indom runtime.heap.spaces (new_space, old_space, ...).

import { getHeapSpaceStatistics } from 'node:v8';
import { type RawMetric, Units } from '../../src/index';
import { type CollectorDefinition, declareOnce } from './collector';

export const heapSpacesCollector: CollectorDefinition = {
  name: 'heap-spaces',
  start({ registry }) {
    const m = declareOnce(registry, 'heap-spaces', () => {
      const indom = registry.instanceDomain('runtime.heap.spaces', {
        // Fixed for the life of the process by the V8 it runs on.
        instances: getHeapSpaceStatistics().map((s) => s.space_name),
        help: 'V8 heap spaces',
      });
      const bytes = (name: string, help: string) =>
        registry.metric(name, {
          type: 'u64',
          semantics: 'instant',
          units: Units.bytes(),
          indom,
          help,
        });
      return {
        size: bytes('runtime.heap.space.size', 'Size of a V8 heap space'),
        used: bytes('runtime.heap.space.used', 'Bytes in use in a V8 heap space'),
        available: bytes(
          'runtime.heap.space.available',
          'Bytes still available in a V8 heap space',
        ),
      };
    });
    /** Each space's three handles, looked up once (by name, not by order: V8's may change). */
    const bySpace = new Map<string, [RawMetric, RawMetric, RawMetric]>();
    return {
      sample() {
        for (const s of getHeapSpaceStatistics()) {
          let h = bySpace.get(s.space_name);
          if (h === undefined) {
            const name = s.space_name;
            h = [m.size.instance(name), m.used.instance(name), m.available.instance(name)];
            bySpace.set(name, h);
          }
          h[0].set(s.space_size);
          h[1].set(s.space_used_size);
          h[2].set(s.space_available_size);
        }
      },
      stop() {},
    };
  },
};
