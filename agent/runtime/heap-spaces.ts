// V8 heap spaces from v8.getHeapSpaceStatistics(). Owns runtime.heap.space.{size,used,
// available}: bytes, instant, over indom runtime.heap.spaces (new_space, old_space, ...).

import { getHeapSpaceStatistics } from 'node:v8';
import { Units } from '../../src/index';
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
    return {
      sample() {
        for (const s of getHeapSpaceStatistics()) {
          m.size.instance(s.space_name).set(s.space_size);
          m.used.instance(s.space_name).set(s.space_used_size);
          m.available.instance(s.space_name).set(s.space_available_size);
        }
      },
      stop() {},
    };
  },
};
