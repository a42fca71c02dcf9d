// A job worker with the two basic kinds: a counter of jobs processed (PCP shows it as a rate)
// and a gauge of jobs waiting (PCP shows its value). pcp-agent's own self-metrics
// (`pcp_agent.*`) are left on, as they are by default.
//
//   node examples/counter.js         then   pminfo -dfmtT mmv.worker
//                                           pmval -t 1 mmv.worker.jobs.processed
//
// EXAMPLE_SECONDS (default 60) is how long it runs; EXAMPLE_INTERVAL_MS (default 1000) how
// often jobs arrive and are processed, 0 to keep the starting values. The file is removed
// on exit.

'use strict';

const { Registry, Units } = require('pcp-agent');

const seconds = Number(process.env.EXAMPLE_SECONDS || 60);
const interval = Number(process.env.EXAMPLE_INTERVAL_MS ?? 1000);

const registry = new Registry({ name: 'worker' });

const processed = registry.counter('jobs.processed', {
  help: 'Jobs processed since the worker started',
});
const waiting = registry.gauge('jobs.waiting', {
  units: Units.count(),
  help: 'Jobs in the queue, not yet started',
});

registry.start();

// A known start: 10 jobs queued, 3 of them done.
waiting.set(10);
for (let n = 0; n < 3; n++) {
  processed.inc();
  waiting.dec();
}
registry.flush();

// start() never throws for I/O: a directory we may not write to (PCP's own, for a user
// outside the pcp group) gives a warning, and pcp-agent retries at every flush.
console.log(
  registry.published
    ? `worker: writing ${registry.path} for ${seconds} s; see it with: pminfo -f mmv.worker (or pmval -t 1 mmv.worker.jobs.processed)`
    : `worker: cannot write ${registry.path} yet (see the warning); retrying every flush`,
);

// Every tick up to 4 jobs arrive and up to 3 are done, so the queue wanders up and down.
const work =
  interval > 0
    ? setInterval(() => {
        waiting.inc(Math.floor(Math.random() * 5));
        const done = Math.min(waiting.value, Math.floor(Math.random() * 4));
        processed.add(done);
        waiting.dec(done);
      }, interval)
    : null;

// When the time is up nothing keeps Node alive (the flush timer is unref'd), so the process
// exits normally and pcp-agent removes the file.
setTimeout(() => {
  if (work) clearInterval(work);
}, seconds * 1000);
