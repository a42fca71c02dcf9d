// The demo behind `npm run demo`: a small simulated shop records requests, latencies, a queue
// and its version for a few seconds, then shows its MMV file with `pcp-agent dump` (no PCP
// needed) and, where PCP is installed, what pmdammv serves from it through pminfo.

const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { Registry, Units } = require('pcp-agent');
const { pickDir, showWithPcp } = require('./pcp-env');

const SECONDS = Number(process.env.DEMO_SECONDS || 3);

const { pcpTmpDir, dir } = pickDir();
const registry = new Registry({ name: 'demo', dir, labels: { app: 'demo-shop' } });
const routes = registry.instanceDomain('routes', { help: 'HTTP method, route and status' });
const requests = registry.counter('http.requests', { indom: routes, help: 'HTTP requests served' });
const latency = registry.histogram('http.latency', {
  indom: routes,
  units: Units.time('msec'),
  buckets: [5, 10, 25, 50, 100],
  window: 1000,
  help: 'HTTP request latency',
});
const queue = registry.gauge('queue.length', { help: 'Jobs waiting' });
const checkout = registry.timer('checkout', { help: 'Checkout processing' });
registry.string('version', { value: require('../package.json').version, help: 'App version' });
registry.start();

const traffic = [
  ['GET', '/products', 200, 8],
  ['GET', '/products/:id', 200, 4],
  ['POST', '/cart', 201, 2],
  ['GET', '/cart', 404, 1],
];
let tick = 0;
const timer = setInterval(() => {
  tick++;
  for (const [method, route, status, perTick] of traffic) {
    const name = `${method}_${route}_${status}`;
    const labels = { method, route, status };
    const req = requests.instance(name, labels);
    const lat = latency.instance(name, labels);
    for (let i = 0; i < perTick; i++) {
      req.inc();
      lat.record(2 + ((tick * 7 + i * 13) % 60));
    }
  }
  queue.set(tick % 10);
  checkout.record(12.5);
}, 50);

setTimeout(() => {
  clearInterval(timer);
  registry.flush();
  const file = registry.path;
  console.log(`The demo shop wrote ${file}; pcp-agent dump shows it (no PCP needed):\n`);
  const cli = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
  process.stdout.write(execFileSync(process.execPath, [cli, 'dump', file], { encoding: 'utf8' }));
  showWithPcp(pcpTmpDir, 'mmv.demo');
  registry.stop();
}, SECONDS * 1000);
