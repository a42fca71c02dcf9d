// PCP's classic "acme" example (src/pmdas/mmv/acme.c in the PCP sources) in pcp-agent: a
// factory making three products, each with a count, a machine time and a queue time.
//
//   node examples/acme.js            then   pminfo -dfmtT mmv.acme
//                                           pmval -t 1 mmv.acme.products.count
//
// EXAMPLE_SECONDS (default 60) is how long it runs; EXAMPLE_INTERVAL_MS (default 500) how
// often a product is made, 0 to keep the starting values. The file is removed on exit.

'use strict';

const { Registry, Units } = require('pcp-agent');

const seconds = Number(process.env.EXAMPLE_SECONDS || 60);
const interval = Number(process.env.EXAMPLE_INTERVAL_MS ?? 500);

const registry = new Registry({ name: 'acme', selfMetrics: false });

// Serial 61 and instance ids 0-2 are the ones acme.c uses.
const products = registry.instanceDomain('products', {
  serial: 61,
  instances: [
    { name: 'Anvils', id: 0 },
    { name: 'Rockets', id: 1 },
    { name: 'Giant_Rubber_Bands', id: 2 },
  ],
  help: 'Acme products',
  longHelp: 'Most popular products produced by the Acme Corporation',
});

const count = registry.counter('products.count', {
  indom: products,
  help: 'Acme factory product throughput',
  longHelp:
    'Monotonic increasing counter of products produced in the Acme Corporation\n' +
    'factory since starting the Acme production application.  Quality guaranteed.',
});
const time = registry.counter('products.time', {
  indom: products,
  units: Units.time('usec'),
  help: 'Machine time spent producing Acme products',
  longHelp:
    'Machine time spent producing Acme Corporation products.  Does not include\n' +
    'time in queues waiting for production machinery.',
});
const queuetime = registry.counter('products.queuetime', {
  indom: products,
  units: Units.time('usec'),
  help: 'Queued time while producing Acme products',
  longHelp:
    'Time spent in the queue waiting to build Acme Corporation products,\n' +
    'while some other Acme product was being built instead of this one.',
});

// Handles are cached: an update through one is a single store, no lookup.
const names = products.instances.map((p) => p.name);
const made = names.map((name) => ({
  count: count.instance(name),
  time: time.instance(name),
  queuetime: queuetime.instance(name),
}));

/** Makes one product: it takes `work` microseconds while the other products wait. */
function produce(product, work) {
  made[product].count.inc();
  made[product].time.add(work);
  for (let other = 0; other < made.length; other++) {
    if (other !== product) made[other].queuetime.add(work);
  }
}

registry.start();

// A known start, so what PCP shows first can be checked: 1 Anvil (100 µs),
// 2 Rockets (200 µs each), 3 Giant_Rubber_Bands (300 µs each).
for (let product = 0; product < made.length; product++) {
  for (let n = 0; n <= product; n++) produce(product, (product + 1) * 100);
}
registry.flush();

// start() never throws for I/O: a directory we may not write to (PCP's own, for a user
// outside the pcp group) gives a warning, and pcp-agent retries at every flush.
console.log(
  registry.published
    ? `acme: writing ${registry.path} for ${seconds} s; see it with: pminfo -f mmv.acme (or pmval -t 1 mmv.acme.products.count)`
    : `acme: cannot write ${registry.path} yet (see the warning); retrying every flush`,
);

// The factory: every tick, a random product takes a random time to make.
const factory =
  interval > 0
    ? setInterval(() => {
        const product = Math.floor(Math.random() * made.length);
        produce(product, 1 + Math.floor(Math.random() * 50_000));
      }, interval)
    : null;

// When the time is up nothing keeps Node alive (the flush timer is unref'd), so the process
// exits normally and pcp-agent removes the file.
setTimeout(() => {
  if (factory) clearInterval(factory);
}, seconds * 1000);
