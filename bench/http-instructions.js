// `npm run bench` (part 3): HTTP overhead as instructions, not seconds. The same hello-world
// server runs under valgrind's callgrind, which counts the instructions it executes: the
// count hardly depends on what else the machine does, so a 5% effect is not lost in noise as
// CPU seconds are here. It does move with valgrind's own speed (the agent read 1.018x and
// 1.027x, and 1.048x in a run where valgrind ran at half its usual speed), probably because
// V8 does some work by the clock. Informational: exits 0; skipped where valgrind is missing.
//
// Per variant: a warm-up, then N requests counted, one at a time, on the same keep-alive
// connection (a new one would re-optimize the server's code all through the count). What is
// counted:
// - JavaScript and the runtime, GC included. Not V8 compiling code: it still optimizes now
//   and then after 20000 requests, and which functions it optimizes when varies with any
//   change; a long-running server has paid that once. It is shown apart.
// - The agent's periodic work (a flush each second, with the runtime sample and a window's
//   percentiles; the event-loop ticks) as a server at RATE req/s pays it: under valgrind a
//   request takes far longer, so the agent flushes every RATE / (requests per second under
//   valgrind) seconds instead of every second, as measured on the no-agent run, and its
//   event-loop ticks are spread out by the same factor.
// Not counted: the kernel. A wake-up or a system call costs nothing here; bench/http.js and
// its idle table show those.
// Node runs with --single-threaded: valgrind runs one thread at a time, and V8's parallel GC
// helpers then spin, inflating counts run to run; on one thread the same GC and compiler work
// is counted once (seen here: 329k instructions per request threaded, varying ±10% between
// identical runs; 185k single-threaded, ±0.5%).

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { VARIANTS, spawnServer } = require('./http-variants');

const json = process.argv.includes('--json');
const WARMUP = Number(process.env.BENCH_INSN_WARMUP ?? 20000);
const REQUESTS = Number(process.env.BENCH_INSN_REQUESTS ?? 3000);
const RATE = Number(process.env.BENCH_HTTP_RATE ?? 2000);
// One request at a time: at a fixed rate below saturation (bench/http.js), requests mostly
// arrive one per event-loop turn, so nothing is shared between them.
const CONCURRENCY = Number(process.env.BENCH_INSN_CONCURRENCY ?? 1);
/** The agent's default event-loop resolution, paced below like the flush. */
const EVENT_LOOP_MS = require('../dist/agent/defaults').DEFAULT_CONFIG.eventLoopResolution;

function haveValgrind() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function startServer(variant, tmp, flushInterval) {
  const out = path.join(tmp, `callgrind.${variant.name.replace(/\W+/g, '-')}`);
  const valgrind = [
    '--tool=callgrind',
    `--callgrind-out-file=${out}.%p`,
    '--zero-before=uv_fs_fsync',
    '--dump-before=uv_fs_fdatasync',
    '--dump-instr=no',
    '--compress-strings=no',
    process.execPath,
    '--single-threaded',
  ];
  const env = {
    BENCH_MARKERS: '1',
    PCP_AGENT_FLUSH_INTERVAL: String(flushInterval),
    // The event-loop ticker slowed down as much as the requests, as the flush is.
    PCP_AGENT_EVENT_LOOP_RESOLUTION: String(Math.round((EVENT_LOOP_MS * flushInterval) / 1000)),
    // The same for prom-client's event-loop monitor (bench/http-server.js).
    BENCH_TIME_SCALE: String(flushInterval / 1000),
  };
  const { child, next, ask } = spawnServer('valgrind', valgrind, variant, tmp, env, 'ignore');
  // Each "report" dumps the counts since the last "reset" into the next numbered file.
  let dumps = 0;
  const counted = () => {
    dumps += 1;
    return splitDump(fs.readFileSync(`${out}.${child.pid}.${dumps}`, 'utf8'));
  };
  return { child, next, ask, counted };
}

/**
 * A callgrind dump's total, and the part spent compiling JavaScript: the inclusive cost of
 * every call into V8's compilers from outside them. Even after thousands of requests V8 is
 * still optimizing (under valgrind, over half of the counted instructions), and which
 * functions it optimizes when varies with small changes anywhere; that is warm-up, not the
 * cost a long-running server pays per request, so the table leaves it out.
 */
function splitDump(text) {
  let total = 0;
  let compile = 0;
  let fn = '';
  let callee = '';
  let call = false;
  for (const line of text.split('\n')) {
    if (call) {
      call = false;
      if (COMPILER.test(callee) && !COMPILER.test(fn)) compile += Number(line.split(' ')[1]);
    } else if (line.startsWith('fn=')) fn = line.slice(3);
    else if (line.startsWith('cfn=')) callee = line.slice(4);
    else if (line.startsWith('calls=')) call = true;
    else if (line.startsWith('summary:')) total = Number(line.slice(8));
  }
  if (total === 0) throw new Error('no summary in a callgrind dump');
  return { total, compile, run: total - compile };
}
const COMPILER = /^v8::internal::Runtime_(Compile|InstallBaselineCode)/;

/**
 * Sends n GET requests over the agent's CONCURRENCY keep-alive connections; rejects on any
 * non-200. The warm-up and the count share the connections: a new connection in between would
 * run the server's connection set-up and tear-down code for the first time in the counted part,
 * and V8 would be re-optimizing what that de-optimized all through it.
 */
function load(port, n, agent) {
  let sent = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/hello', agent }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
        );
      });
      req.on('error', reject);
    });
  const worker = async () => {
    while (sent < n) {
      sent += 1;
      await one();
    }
  };
  return Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function measure(variant, tmp, flushInterval) {
  const server = startServer(variant, tmp, flushInterval);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const port = Number((await server.next()).split(' ')[1]);
    await load(port, WARMUP, agent);
    await server.ask('reset');
    const t0 = process.hrtime.bigint();
    await load(port, REQUESTS, agent);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const served = Number((await server.ask('report')).split(' ')[2]);
    const counted = server.counted();
    if (served !== REQUESTS) throw new Error(`${variant.name}: served ${served} of ${REQUESTS}`);
    return {
      perRequest: counted.run / REQUESTS,
      compilePerRequest: counted.compile / REQUESTS,
      requestsPerSecond: REQUESTS / seconds,
    };
  } finally {
    agent.destroy();
    server.child.stdin.write('quit\n');
    await new Promise((r) => server.child.on('exit', r));
  }
}

async function main() {
  if (!haveValgrind()) {
    console.log('\nHTTP overhead in instructions: skipped (valgrind is not installed)');
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-bench-insn-'));
  const rows = [];
  let flushInterval = 1000;
  try {
    for (const variant of VARIANTS) {
      const row = { variant: variant.name, ...(await measure(variant, tmp, flushInterval)) };
      // The no-agent run sets the pace: one flush per RATE requests, as at full speed.
      if (rows.length === 0) flushInterval = Math.round((1000 * RATE) / row.requestsPerSecond);
      rows.push(row);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const base = rows[0];
  console.log(
    `\nHTTP overhead in instructions (callgrind): hello world, ${REQUESTS} requests one at a time after ` +
      `${WARMUP} warm-up; the agent flushing once per ${RATE} requests (every ${flushInterval} ms under valgrind)\n`,
  );
  const width = Math.max(...rows.map((r) => r.variant.length));
  console.log(
    `  ${'variant'.padEnd(width)} ${'per request'.padStart(12)}   ratio   ${'compiling'.padStart(10)}`,
  );
  for (const r of rows) {
    r.ratio = r.perRequest / base.perRequest;
    console.log(
      `  ${r.variant.padEnd(width)} ${Math.round(r.perRequest).toLocaleString('en').padStart(12)}   ` +
        `${r.ratio.toFixed(3)}×   ${Math.round(r.compilePerRequest).toLocaleString('en').padStart(10)}`,
    );
  }
  console.log(
    "\n  per request: instructions running JavaScript and the runtime, GC and the agent's periodic\n" +
      '  work included; "compiling": V8 still optimizing code, per request, left out of the ratio.',
  );
  const agent = rows[1].ratio;
  console.log(
    `\n  target: full default agent ≤ 1.05× no agent: ${agent.toFixed(3)}× ${agent <= 1.05 ? 'PASS' : 'MISS'}`,
  );
  if (json)
    console.log(
      JSON.stringify(
        { warmup: WARMUP, requests: REQUESTS, rate: RATE, flushInterval, rows },
        null,
        2,
      ),
    );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 0;
});
