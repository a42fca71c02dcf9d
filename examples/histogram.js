// A latency histogram in milliseconds: count and sum as counters, cumulative buckets as
// counters, and min, max and percentiles over a 1-second window, so pmval shows the
// percentiles move.
//
//   node examples/histogram.js       then   pminfo -dfmtT mmv.api
//                                           pmval -t 1 mmv.api.request.latency.p99
//
// EXAMPLE_SECONDS (default 60) is how long it runs; EXAMPLE_INTERVAL_MS (default 50) how
// often a request completes, 0 to keep the starting values. The file is removed on exit.

'use strict';

const { Registry, Units } = require('pcp-agent');

const seconds = Number(process.env.EXAMPLE_SECONDS || 60);
const interval = Number(process.env.EXAMPLE_INTERVAL_MS ?? 50);

const registry = new Registry({ name: 'api', selfMetrics: false });

const latency = registry.histogram('request.latency', {
  units: Units.time('msec'),
  buckets: [10, 50, 100, 500],
  percentiles: [50, 90, 99],
  // PCP sees min, max and percentiles of the last complete window.
  window: 1000,
  help: 'Request latency',
});

// A known start: ten requests, 5 ms to 750 ms. Count, sum and buckets show them at once;
// min, max and percentiles once the first window ends, one second after the start.
const first = [5, 8, 12, 20, 35, 60, 90, 150, 300, 750];
for (const ms of first) latency.record(ms);

registry.start();
registry.flush();

// start() never throws for I/O: a directory we may not write to (PCP's own, for a user
// outside the pcp group) gives a warning, and pcp-agent retries at every flush.
console.log(
  registry.published
    ? `api: writing ${registry.path} for ${seconds} s; see it with: pminfo -f mmv.api (or pmval -t 1 mmv.api.request.latency.p99)`
    : `api: cannot write ${registry.path} yet (see the warning); retrying every flush`,
);

// Mostly fast requests, with a slow tail: 90% take 5-50 ms, 10% take 100-1000 ms.
const traffic =
  interval > 0
    ? setInterval(() => {
        const slow = Math.random() < 0.1;
        latency.record(slow ? 100 + Math.random() * 900 : 5 + Math.random() * 45);
      }, interval)
    : null;

// When the time is up nothing keeps Node alive (the flush timer is unref'd), so the process
// exits normally and pcp-agent removes the file.
setTimeout(() => {
  if (traffic) clearInterval(traffic);
}, seconds * 1000);
