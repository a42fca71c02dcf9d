// Event-loop delay and utilization. Owns runtime.eventloop.delay.{min,max,mean,stddev,p50,p90,
// p99} (msec, instant) and runtime.eventloop.utilization (0-1, instant), each over the last
// flush interval, and the counters runtime.eventloop.delay.count (ticks) and .sum (msec).
//
// The ticks are Node's monitorEventLoopDelay(): a libuv timer every eventLoopResolution ms
// whose callback is C++ recording into Node's HDR histogram. A JavaScript setInterval doing
// the same costs a JavaScript entry per tick, cold each time: measured in bench/http.js's set-up
// (hello-world servers at 2000 req/s), a bare 100 ms setInterval cost 1.4-1.5% of a server's
// CPU per request, the native monitor 0-0.2%; idle, 1.5-1.8 against 0.75 ms of CPU a second.
//
// Each tick records how late it fired, the interval itself subtracted (clamped at 0): an idle
// loop reads about 0, not the resolution, and a block of B ms reads between B - resolution
// and B. The histogram is restarted at each flush, and its reset() forgets the previous
// tick, so the first tick after a restart records nothing: a block right after the flush
// (an app's 1-second job beside the 1-second flush) would be missed every time. So each
// restart also arms a one-shot JavaScript timer due at the same moment as that first tick
// (one wake-up for both, one JavaScript entry a flush): its lateness is that tick's sample,
// merged into the interval's figures at the next flush.

import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as timers from 'node:timers';
import { Units } from '../../src/index';
import { DEFAULT_CONFIG } from '../defaults';
import { type CollectorDefinition, declareOnce, RUNTIME_WARNING } from './collector';

/**
 * Milliseconds between delay samples by default (PCP_AGENT_EVENT_LOOP_RESOLUTION). A tick
 * costs a wake-up of an otherwise idle process: on the 2-core VMs here 75-100 µs of CPU for
 * the native tick (a C program's epoll_wait wake-up alone costs 76 µs there), so 100 ms ticks
 * cost 0.75-1 ms of CPU a second idle and 10 ms ticks (Node's and prom-client's default)
 * 8.6-8.9. 100 ms sees every block of 100 ms or more, and a shorter block B with probability
 * B/100.
 */
export const EVENT_LOOP_RESOLUTION_MS = DEFAULT_CONFIG.eventLoopResolution;

// Taken when this module loads, before the timers instrumentation patches them: the agent's
// own timer is not the app's.
const { setTimeout: startCover, clearTimeout: stopCover } = timers;

const msec = Units.time('msec');
const NS_PER_MS = 1e6;
const PERCENTILES = [50, 90, 99] as const;

/** One interval's delay figures in ms, the resolution taken off. */
export interface DelayFigures {
  count: number;
  mean: number;
  /** Population standard deviation. */
  stddev: number;
  min: number;
  max: number;
  /** Value at each of PERCENTILES. */
  percentiles: number[];
}

/**
 * Up to this many samples in an interval are read back one by one (the default, 100 ms ticks
 * and a 1 s flush, has 10): the histogram's value at percentile 100 j/n is its j-th sample,
 * and each such read walks its buckets only up to that value (about 5 µs here), where its
 * `stddev` walks all of them, up to 2^63 ns (about 310 µs here, 30 µs for `mean`).
 */
const READ_BACK_MAX = 64;

/** A percentile's rank among n samples, as HDR histograms count it: round(p/100 n), >= 1. */
function rankOf(p: number, n: number): number {
  return Math.max(1, Math.floor((p / 100) * n + 0.5));
}

/** The figures of samples given one by one. */
function figuresOf(xs: number[]): DelayFigures {
  const n = xs.length;
  if (n === 0) {
    return { count: 0, mean: 0, stddev: 0, min: 0, max: 0, percentiles: PERCENTILES.map(() => 0) };
  }
  xs.sort((a, b) => a - b);
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / n;
  let squares = 0;
  for (const x of xs) squares += (x - mean) * (x - mean);
  return {
    count: n,
    mean,
    stddev: Math.sqrt(squares / n),
    min: xs[0],
    max: xs[n - 1],
    percentiles: PERCENTILES.map((p) => xs[rankOf(p, n) - 1]),
  };
}

/**
 * The figures of the native histogram's n samples, each less `resolution` and clamped at 0
 * (a tick can fire up to 1 ms early by the high-resolution clock), plus one more sample
 * `extra` (>= 0; none when null). `at(q)` is the histogram's value (ns) at percentile q.
 * A percentile is the sample at rank round(p/100 * N) (at least 1) of the N samples, as HDR
 * histograms count it. Up to READ_BACK_MAX samples are read back one by one. Past that, from
 * the histogram's own mean and stddev, of the samples before clamping; a percentile is then
 * the extra sample clamped between the histogram's samples at ranks k-1 and k, read from it
 * at 100 j/n.
 */
export function delayFigures(
  h: Pick<IntervalHistogram, 'count' | 'mean' | 'stddev' | 'min' | 'max'>,
  at: (q: number) => number,
  extra: number | null,
  resolution: number,
): DelayFigures {
  const n = h.count;
  const ms = (ns: number) => ns / NS_PER_MS - resolution;
  if (n <= READ_BACK_MAX) {
    const xs: number[] = [];
    for (let j = 1; j <= n; j++) xs.push(Math.max(0, ms(at((100 * j) / n))));
    if (extra !== null) xs.push(extra);
    return figuresOf(xs);
  }
  const mean = ms(h.mean);
  const sd = h.stddev / NS_PER_MS;
  if (extra === null) {
    return {
      count: n,
      mean,
      stddev: sd,
      min: ms(h.min),
      max: ms(h.max),
      percentiles: PERCENTILES.map((p) => ms(at(p))),
    };
  }
  const total = n + 1;
  const merged = (n * mean + extra) / total;
  const variance = (n * (sd * sd + mean * mean) + extra * extra) / total - merged * merged;
  const rank = (j: number) => (j < 1 ? -Infinity : j > n ? Infinity : ms(at((100 * j) / n)));
  return {
    count: total,
    mean: merged,
    stddev: Math.sqrt(Math.max(0, variance)),
    min: Math.min(ms(h.min), extra),
    max: Math.max(ms(h.max), extra),
    percentiles: PERCENTILES.map((p) => {
      const k = rankOf(p, total);
      return Math.min(Math.max(extra, rank(k - 1)), rank(k));
    }),
  };
}

export const eventLoopCollector: CollectorDefinition = {
  name: 'eventloop',
  start(ctx) {
    const { registry } = ctx;
    const resolution = ctx.config.eventLoopResolution;
    const m = declareOnce(registry, 'eventloop', () => {
      const about = `Event-loop delay (how late a ${resolution} ms tick fired, the ${resolution} ms not counted)`;
      const gauge = (suffix: string, what: string) =>
        registry.gauge(`runtime.eventloop.delay.${suffix}`, {
          units: msec,
          help: `${about}: ${what}`,
        });
      return {
        count: registry.counter('runtime.eventloop.delay.count', {
          units: Units.count(),
          help: `${about}: count`,
        }),
        sum: registry.metric('runtime.eventloop.delay.sum', {
          type: 'double',
          semantics: 'counter',
          units: msec,
          help: `${about}: sum`,
        }),
        min: gauge('min', 'minimum over the last window'),
        max: gauge('max', 'maximum over the last window'),
        percentiles: PERCENTILES.map((p) =>
          gauge(`p${p}`, `${p}th percentile over the last window`),
        ),
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
      };
    });

    // Its first tick only starts the clock: before it, the loop may not have been running yet
    // (a preload enables this before the app's own start-up code).
    const eld = monitorEventLoopDelay({ resolution });
    eld.enable();
    let cover: NodeJS.Timeout | null = null;
    /** How late (ms, >= 0) the first tick after the last restart fired, once it has. */
    let extra: number | null = null;
    const restart = (): void => {
      // The one-shot first: arming a JavaScript timer brings libuv's cached loop time up to
      // now, so the native timer started next is due at the same millisecond (one wake-up for
      // both). Started before it, the native one would be due earlier by however long this
      // loop iteration has run so far (2-3 ms idle here, a flush's work): two wake-ups.
      const armed = performance.now();
      cover = startCover(() => {
        cover = null;
        extra = Math.max(0, performance.now() - armed - resolution);
      }, resolution);
      cover.unref();
      eld.disable();
      eld.reset();
      eld.enable();
    };
    const at = (q: number) => eld.percentile(q);
    let busy = performance.eventLoopUtilization();

    return {
      sample() {
        try {
          const f = delayFigures(eld, at, extra, resolution);
          // An empty interval's figures are all 0. Past READ_BACK_MAX samples the histogram's
          // own figures are of unclamped samples: clamped here.
          const zero = (x: number) => Math.max(x, 0);
          m.count.add(f.count);
          m.sum.set(m.sum.value + zero(f.mean) * f.count);
          m.min.set(zero(f.min));
          m.max.set(zero(f.max));
          for (let k = 0; k < PERCENTILES.length; k++) m.percentiles[k].set(zero(f.percentiles[k]));
          m.mean.set(zero(f.mean));
          m.stddev.set(f.stddev);
          // While the previous restart's first tick is still to come (a flush interval shorter
          // than the resolution), nothing was measured yet: wait for it, at a later flush.
          if (cover === null || f.count > 0) {
            if (cover !== null) stopCover(cover);
            extra = null;
            restart();
          }
        } catch (err) {
          ctx.fault(RUNTIME_WARNING, 'sampling the event-loop delay failed', err);
        }
        const now = performance.eventLoopUtilization();
        const u = performance.eventLoopUtilization(now, busy).utilization;
        busy = now;
        // NaN when no time passed at all.
        m.utilization.set(u > 0 ? Math.min(u, 1) : 0);
      },
      stop() {
        eld.disable();
        if (cover !== null) stopCover(cover);
        cover = null;
      },
    };
  },
};
