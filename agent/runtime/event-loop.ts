// Event-loop delay and utilization. Owns runtime.eventloop.delay.{min,max,mean,stddev,p50,p90,
// p99} (msec, instant) and runtime.eventloop.utilization (0-1, instant), each over the last
// flush interval, and the counters runtime.eventloop.delay.count (ticks) and .sum (msec).
//
// Why not monitorEventLoopDelay(): its reset() also forgets the previous tick, so the tick
// interval around each flush is never measured and a block next to the flush (an app's
// 1-second job beside a 1-second flush) is missed every time. Our own unref'd ticker every
// eventLoopResolution ms (default EVENT_LOOP_RESOLUTION_MS) records how late each tick fired,
// the interval itself subtracted (clamped at 0): an idle loop reads about 0 (percentiles
// bottom out at 1 µs), not the resolution, and a block of B ms reads between B - resolution
// and B.

import { performance } from 'node:perf_hooks';
import * as timers from 'node:timers';
import { Units } from '../../src/index';
import { DEFAULT_CONFIG } from '../defaults';
import { type CollectorDefinition, declareOnce, RUNTIME_WARNING } from './collector';

/**
 * Milliseconds between delay samples by default (PCP_AGENT_EVENT_LOOP_RESOLUTION). What a
 * tick costs is mostly the wake-up, not its JavaScript: on the 2-core VMs here a timer that
 * wakes an otherwise idle process costs 0.1-0.25 ms of CPU, so 20 ms ticks (50 a second) cost
 * 12 ms of CPU a second idle. 100 ms costs a fifth of that, and still sees every block of
 * 100 ms or more, and a shorter block B with probability B/100. Under a steady load
 * (bench/http.js, all servers at once) 100 ms ticks still cost 1.5-2 points of the agent's
 * CPU ratio to no agent: 1.084-1.089x against 1.064-1.076x with 1000 ms ticks.
 */
export const EVENT_LOOP_RESOLUTION_MS = DEFAULT_CONFIG.eventLoopResolution;

// Taken when this module loads, before the timers instrumentation patches them: the agent's
// own ticks are not the app's timers.
const { setInterval: startTicker, clearInterval: stopTicker } = timers;

const msec = Units.time('msec');

export const eventLoopCollector: CollectorDefinition = {
  name: 'eventloop',
  start(ctx) {
    const { registry } = ctx;
    const resolution = ctx.config.eventLoopResolution;
    const m = declareOnce(registry, 'eventloop', () => ({
      delay: registry.histogram('runtime.eventloop.delay', {
        units: msec,
        percentiles: [50, 90, 99],
        window: 0,
        help: `Event-loop delay (how late a ${resolution} ms tick fired, the ${resolution} ms not counted)`,
      }),
      mean: registry.gauge('runtime.eventloop.delay.mean', {
        units: msec,
        help: 'Event-loop delay: mean over the last flush interval',
      }),
      stddev: registry.gauge('runtime.eventloop.delay.stddev', {
        units: msec,
        help: 'Event-loop delay: standard deviation over the last flush interval',
      }),
      utilization: registry.gauge('runtime.eventloop.utilization', {
        help: 'Fraction of the last flush interval the event loop spent running code, 0 to 1',
      }),
    }));

    let last = -1;
    let n = 0;
    let sum = 0;
    let sumSquares = 0;
    const tick = (): void => {
      try {
        const now = performance.now();
        // The first tick only starts the clock: before it, the loop may not have been running
        // yet (a preload enables this before the app's own start-up code).
        if (last >= 0) {
          const late = now - last - resolution;
          const lag = Math.max(late, 0);
          m.delay.record(lag);
          n++;
          sum += lag;
          sumSquares += lag * lag;
        }
        last = now;
      } catch (err) {
        ctx.fault(RUNTIME_WARNING, 'sampling the event-loop delay failed', err);
      }
    };
    const ticker = startTicker(tick, resolution);
    ticker.unref();
    let busy = performance.eventLoopUtilization();

    return {
      sample() {
        // The histogram's own min, max and percentiles rotate in the same flush (window 0).
        const mean = n > 0 ? sum / n : 0;
        m.mean.set(mean);
        m.stddev.set(n > 0 ? Math.sqrt(Math.max(0, sumSquares / n - mean * mean)) : 0);
        n = 0;
        sum = 0;
        sumSquares = 0;
        const now = performance.eventLoopUtilization();
        const u = performance.eventLoopUtilization(now, busy).utilization;
        busy = now;
        // NaN when no time passed at all.
        m.utilization.set(u > 0 ? Math.min(u, 1) : 0);
      },
      stop() {
        stopTicker(ticker);
      },
    };
  },
};
