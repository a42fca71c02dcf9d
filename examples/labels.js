// Labels: the file carries {app, env}, and a request counter over an instance domain whose
// instances carry {method, route, status}, the way HTTP metrics carry their dimensions.
// Instance names have no spaces (PCP clients identify an instance by its first word).
//
//   node examples/labels.js          then   pminfo -fl mmv.shop
//                                           pmval -t 1 mmv.shop.http.requests
//
// EXAMPLE_SECONDS (default 60) is how long it runs; EXAMPLE_INTERVAL_MS (default 200) how
// often a request is served, 0 to keep the starting values. The file is removed on exit.

'use strict';

const { Registry } = require('pcp-agent');

const seconds = Number(process.env.EXAMPLE_SECONDS || 60);
const interval = Number(process.env.EXAMPLE_INTERVAL_MS ?? 200);

const registry = new Registry({
  name: 'shop',
  labels: { app: 'shop', env: 'prod' },
  selfMetrics: false,
});

// Empty at first: an instance appears, with its labels, the first time it is counted.
const routes = registry.instanceDomain('http.routes', {
  help: 'HTTP method, route and status',
});
const requests = registry.counter('http.requests', {
  indom: routes,
  help: 'HTTP requests served',
});

/** The counter for one method, route and status: instance `GET_/cart_200` and its labels. */
function requestCounter(method, route, status) {
  return requests.instance(`${method}_${route}_${status}`, { method, route, status });
}

registry.start();

// A known start: five cart views, two items added, one missing product.
requestCounter('GET', '/cart', 200).add(5);
requestCounter('POST', '/cart', 201).add(2);
requestCounter('GET', '/product', 404).inc();
registry.flush();

// start() never throws for I/O: a directory we may not write to (PCP's own, for a user
// outside the pcp group) gives a warning, and pcp-agent retries at every flush.
console.log(
  registry.published
    ? `shop: writing ${registry.path} for ${seconds} s; see it with: pminfo -fl mmv.shop (or pmval -t 1 mmv.shop.http.requests)`
    : `shop: cannot write ${registry.path} yet (see the warning); retrying every flush`,
);

// Random traffic over a few routes; a new combination becomes a new instance.
const traffic = [
  ['GET', '/cart', 200],
  ['POST', '/cart', 201],
  ['GET', '/product', 200],
  ['GET', '/product', 404],
  ['POST', '/checkout', 200],
  ['POST', '/checkout', 500],
];
const serve =
  interval > 0
    ? setInterval(() => {
        const [method, route, status] = traffic[Math.floor(Math.random() * traffic.length)];
        requestCounter(method, route, status).inc();
      }, interval)
    : null;

// When the time is up nothing keeps Node alive (the flush timer is unref'd), so the process
// exits normally and pcp-agent removes the file.
setTimeout(() => {
  if (serve) clearInterval(serve);
}, seconds * 1000);
