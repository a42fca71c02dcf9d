// The process and its versions. Owns runtime.uptime (sec, instant), runtime.start_time (sec
// since the Unix epoch, discrete), runtime.node.version (a string;
// the agent's own version is the self-metric pcp_agent.version).

import { performance } from 'node:perf_hooks';
import { Units } from '../../src/index';
import { type CollectorDefinition, declareOnce } from './collector';

export const processCollector: CollectorDefinition = {
  name: 'process',
  start({ registry }) {
    const m = declareOnce(registry, 'process', () => {
      registry.string('runtime.node.version', {
        value: process.version,
        help: 'Version of Node.js running the process',
      });
      registry
        .gauge('runtime.start_time', {
          semantics: 'discrete',
          units: Units.time('sec'),
          help: 'When the process started, in seconds since the Unix epoch',
        })
        .set(performance.timeOrigin / 1000);
      return {
        uptime: registry.gauge('runtime.uptime', {
          units: Units.time('sec'),
          help: 'Seconds since the process started',
        }),
      };
    });
    return {
      sample() {
        m.uptime.set(process.uptime());
      },
      stop() {},
    };
  },
};
