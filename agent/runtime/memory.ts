// Process memory from one process.memoryUsage() per flush (it reads the RSS, a few µs). Owns
// runtime.memory.{rss,external,array_buffers} and runtime.heap.{used,total}: bytes, instant.

import { Units } from '../../src/index';
import { type CollectorDefinition, declareOnce } from './collector';

export const memoryCollector: CollectorDefinition = {
  name: 'memory',
  start({ registry }) {
    const m = declareOnce(registry, 'memory', () => {
      const bytes = (name: string, help: string) =>
        registry.metric(name, { type: 'u64', semantics: 'instant', units: Units.bytes(), help });
      return {
        rss: bytes('runtime.memory.rss', 'Resident set size of the process'),
        external: bytes(
          'runtime.memory.external',
          'Memory of C++ objects bound to JavaScript objects managed by V8',
        ),
        arrayBuffers: bytes(
          'runtime.memory.array_buffers',
          'Memory of ArrayBuffers and SharedArrayBuffers, Buffers included (part of external)',
        ),
        heapUsed: bytes('runtime.heap.used', 'V8 heap in use'),
        heapTotal: bytes('runtime.heap.total', 'V8 heap allocated'),
      };
    });
    return {
      sample() {
        const u = process.memoryUsage();
        m.rss.set(u.rss);
        m.external.set(u.external);
        m.arrayBuffers.set(u.arrayBuffers);
        m.heapUsed.set(u.heapUsed);
        m.heapTotal.set(u.heapTotal);
      },
      stop() {},
    };
  },
};
