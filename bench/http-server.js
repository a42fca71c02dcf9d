// The server under test in bench/http.js: hello world, optionally with a prom-client
// middleware doing what such middlewares do (a labelled counter and histogram per request)
// with prom-client's default runtime metrics, or with the least per-request timing there is,
// written by hand (the floor).
// Prints its port; on "report" from stdin prints the CPU time it used since "reset".

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

// Under callgrind (bench/http-instructions.js), "reset" and "report" also call fsync and
// fdatasync: callgrind zeroes its counts before the one and dumps them before the other.
const markers = process.env.BENCH_MARKERS
  ? fs.openSync(path.join(os.tmpdir(), `pcp-agent-bench-marker-${process.pid}`), 'w')
  : undefined;
function mark(sync) {
  if (markers !== undefined) sync(markers);
}

let handle = (_req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end('hello world\n');
};

if (process.env.BENCH_VARIANT === 'prom-client') {
  const prom = require('prom-client');
  // Its runtime metrics too, as its README sets it up: the agent's defaults have theirs. They
  // are collected when scraped and nothing scrapes here, so what runs is their event-loop
  // monitor (every 10 ms, its default) and GC observer. BENCH_TIME_SCALE slows the monitor
  // down as much as a server under valgrind is (bench/http-instructions.js).
  const scale = Number(process.env.BENCH_TIME_SCALE ?? 1);
  prom.collectDefaultMetrics({ eventLoopMonitoringPrecision: Math.max(1, Math.round(10 * scale)) });
  const requests = new prom.Counter({
    name: 'http_requests_total',
    help: 'requests',
    labelNames: ['method', 'route', 'status'],
  });
  const duration = new prom.Histogram({
    name: 'http_request_duration_seconds',
    help: 'duration',
    labelNames: ['method', 'route', 'status'],
  });
  const inner = handle;
  handle = (req, res) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      const labels = { method: req.method, route: req.url.split('?')[0], status: res.statusCode };
      requests.inc(labels);
      end(labels);
    });
    inner(req, res);
  };
}

if (process.env.BENCH_VARIANT === 'floor') {
  // The least that timing each request can do, written by hand in the app: a clock read as the
  // request arrives, a 'close' listener on its response, a clock read and a sum when it closes.
  // No route, no status, no file: what any per-request instrumentation pays at the least.
  const { performance } = require('node:perf_hooks');
  const START = Symbol('start');
  const sums = { total: 0, count: 0 };
  const onClose = function () {
    sums.total += performance.now() - this[START];
    sums.count++;
  };
  const inner = handle;
  handle = (req, res) => {
    res[START] = performance.now();
    res.on('close', onClose);
    inner(req, res);
  };
}

const server = http.createServer((req, res) => handle(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));

let since = process.cpuUsage();
let served = 0;
server.on('request', () => served++);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  for (const cmd of d.split('\n')) {
    if (cmd === 'reset') {
      since = process.cpuUsage();
      served = 0;
      mark(fs.fsyncSync);
      console.log('RESET');
    } else if (cmd === 'report') {
      const u = process.cpuUsage(since);
      mark(fs.fdatasyncSync);
      console.log(`REPORT ${u.user + u.system} ${served} ${u.user} ${u.system}`);
    } else if (cmd === 'quit') {
      server.close();
      server.closeAllConnections();
      process.stdin.destroy();
      if (markers !== undefined) {
        fs.closeSync(markers);
        fs.rmSync(path.join(os.tmpdir(), `pcp-agent-bench-marker-${process.pid}`), { force: true });
      }
    }
  }
});
