// The demo behind `npm run demo`: a small simulated shop records requests, latencies, a queue
// and its version for a few seconds, then shows its MMV file with `pcp-agent dump` (no PCP
// needed) and, where PCP is installed, what pmdammv serves from it through pminfo.

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Registry, Units, findPcpTmpDir } = require('pcp-agent');

const SECONDS = Number(process.env.DEMO_SECONDS || 3);
const PMDA = '/var/lib/pcp/pmdas/mmv/pmda_mmv.so';

// Write where PCP looks; if that directory is not ours to write (PCP installed, not root),
// use a private PCP_TMP_DIR so the demo still runs.
function pickDir() {
  const tmp = findPcpTmpDir();
  const dir = path.join(tmp.dir, 'mmv');
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return { pcpTmpDir: tmp.dir, dir };
  } catch {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-demo-'));
    fs.mkdirSync(path.join(own, 'mmv'));
    return { pcpTmpDir: own, dir: path.join(own, 'mmv') };
  }
}

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
  showWithPcp(pcpTmpDir);
  registry.stop();
}, SECONDS * 1000);

// With PCP installed, ask pmdammv itself (loaded in-process: no pmcd needed).
function showWithPcp(tmpDir) {
  const which = spawnSync('sh', ['-c', 'command -v pminfo'], { encoding: 'utf8' });
  if (which.status !== 0 || !fs.existsSync(PMDA)) {
    console.log('\nPCP is not installed here; with PCP, `pminfo -f mmv.demo` shows the same.');
    return;
  }
  const pmns = path.join(os.tmpdir(), 'pcp-agent-demo-pmns');
  fs.writeFileSync(pmns, 'root {\n\tmmv\t70:*:*\n}\n');
  const args = ['-n', pmns, '-L', '-K', 'clear', '-K', `add,70,${PMDA},mmv_init`, '-f', 'mmv.demo'];
  const out = spawnSync('pminfo', args, {
    encoding: 'utf8',
    env: { ...process.env, PCP_TMP_DIR: tmpDir },
  });
  console.log(
    '\nAnd what real PCP serves from it (pminfo -f mmv.demo, pmdammv loaded in-process):',
  );
  process.stdout.write(out.stdout || out.stderr);
}
