// `npm run bench` (part 2): HTTP overhead. A hello-world server at a fixed request rate, load
// from a separate process (this one), with no agent, with the full default agent, with the
// least per-request timing there is written by hand (the floor any instrumentation pays), with
// a prom-client middleware doing the same work and with OpenTelemetry's http instrumentation:
// server CPU time per request relative to no agent. Then what each server costs idle.
// Informational: exits 0.
//
// The load is paced here, a request every 1/RATE s spread over keep-alive connections: a
// steady arrival rate, as a service behind a load balancer sees. (autocannon's rate limit is
// a budget per second: its requests come in one burst at the start of each second and the
// server idles the rest, where every periodic wake-up of an agent lands.)
//
// CPU time per request on these shared VMs moves by 10-20% from one second to the next, more
// than the effect measured, and servers measured one after another read 1.03-1.40x for the
// same agent. So all the servers are loaded at once, each at RATE, their requests interleaved
// in each millisecond's batch: every window is the same stretch of the machine's time for
// all of them, and a variant's ratio is the median of its ratios to no agent in the same
// window. The rate, 2000 a second each, is what one load process paces for the seven servers
// on a 2-core machine (at 3000 each, most windows ran long).
//
// Two processes of the same server differ by up to 1.5% in CPU per request for as long as they
// run (their memory layout, what V8 optimized when), and the no-agent server's own offset
// moves every ratio of the run. So "no agent" is two servers, the mean of the two in each
// window, and each copy's own ratio to that mean shows what the method resolves in this run
// (ideally 1.000, the two as far above as below). And the servers are started afresh EPOCHS
// times (default 3), each time warmed up and measured for a third of the windows: every
// variant's windows are of three processes, and so are the no-agent servers'.

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { VARIANTS, spawnServer } = require('./http-variants');

const json = process.argv.includes('--json');
const RATE = Number(process.env.BENCH_HTTP_RATE ?? 2000);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 2);
const WARMUP_SECONDS = Number(process.env.BENCH_HTTP_WARMUP ?? 10);
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 30);
/** How many times the servers are started afresh (not a number: the default). */
const EPOCHS = Math.min(
  ROUNDS,
  Math.max(1, Math.floor(Number(process.env.BENCH_HTTP_EPOCHS)) || 3),
);
const IDLE_SECONDS = 10;
const CONNECTIONS = 10;

const CONTROL = { name: 'no agent, a second copy', args: [], env: {} };
const SERVERS = [...VARIANTS, CONTROL];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * GET /hello at RATE requests per second to every server for `seconds`, on each server's own
 * connections: each millisecond, the requests due by then, the servers' order rotating.
 * Resolves to the failed requests per server and the seconds it took.
 */
function load(servers, seconds) {
  const total = Math.round(RATE * seconds);
  const bad = servers.map(() => 0);
  let sent = 0;
  let done = 0;
  return new Promise((resolve) => {
    const t0 = performance.now();
    const finish = () => {
      done++;
      if (done < total * servers.length) return;
      clearInterval(pacer);
      resolve({ bad, seconds: (performance.now() - t0) / 1000 });
    };
    const one = (k) => {
      const s = servers[k];
      const req = http.get(
        { host: '127.0.0.1', port: s.port, path: '/hello', agent: s.agent },
        (res) => {
          if (res.statusCode !== 200) bad[k]++;
          res.resume();
          res.on('end', finish);
        },
      );
      req.on('error', () => {
        bad[k]++;
        finish();
      });
    };
    const pacer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * RATE) / 1000));
      while (sent < due) {
        sent++;
        for (let j = 0; j < servers.length; j++) one((sent + j) % servers.length);
      }
    }, 1);
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Mean and twice its standard error. */
function meanAnd2se(xs) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1);
  return { mean, twoSe: 2 * Math.sqrt(variance / xs.length) };
}

/** Each server's CPU microseconds and requests served while `during` runs. */
async function window(servers, during) {
  await Promise.all(servers.map((s) => s.ask('reset')));
  const result = await during();
  const reports = await Promise.all(servers.map((s) => s.ask('report')));
  const usage = reports.map((line) => {
    const [, cpuUs, served] = line.split(' ').map(Number);
    return { cpuUs, served };
  });
  return { usage, result };
}

function checkLoad(what, { bad, seconds }, expected) {
  for (const [k, n] of bad.entries()) {
    if (n > 0) throw new Error(`${SERVERS[k].name}: ${n} failed requests in the ${what}`);
  }
  // The pacer fell behind: the servers saw a lower rate than RATE (a busy machine).
  return seconds > expected * 1.1 ? 1 : 0;
}

/** Starts every server of SERVERS, each on its own keep-alive connections. */
async function startServers(tmp) {
  const servers = [];
  for (const variant of SERVERS) {
    const server = spawnServer(process.execPath, [], variant, tmp);
    server.port = Number((await server.next()).split(' ')[1]);
    server.agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    servers.push(server);
  }
  return servers;
}

async function stopServers(servers) {
  for (const s of servers) {
    s.agent.destroy();
    s.child.stdin.write('quit\n');
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.child.on('exit', r))));
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-bench-http-'));
  const perRequest = SERVERS.map(() => []);
  const ratios = SERVERS.map(() => []);
  let late = 0;
  let idle = [];
  try {
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      const servers = await startServers(tmp);
      try {
        checkLoad('warm-up', await load(servers, WARMUP_SECONDS), WARMUP_SECONDS);
        const rounds = Math.floor(ROUNDS / EPOCHS) + (epoch < ROUNDS % EPOCHS ? 1 : 0);
        for (let round = 0; round < rounds; round++) {
          const { usage, result } = await window(servers, () => load(servers, SECONDS));
          late += checkLoad('load', result, SECONDS);
          const us = usage.map((u) => u.cpuUs / u.served);
          const none = (us[0] + us[us.length - 1]) / 2;
          for (const [k, x] of us.entries()) {
            perRequest[k].push(x);
            ratios[k].push(x / none);
          }
        }
        if (epoch === EPOCHS - 1) {
          // Idle: all at once, with no requests; each server's own CPU time.
          const { usage } = await window(servers, () => sleep(IDLE_SECONDS * 1000));
          idle = usage.map((u, k) => ({
            variant: SERVERS[k].name,
            msPerSecond: u.cpuUs / 1000 / IDLE_SECONDS,
          }));
        }
      } finally {
        await stopServers(servers);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const rows = SERVERS.map((v, k) => {
    const { mean, twoSe } = meanAnd2se(ratios[k]);
    return {
      variant: v.name,
      usPerRequest: median(perRequest[k]),
      ratio: median(ratios[k]),
      mean,
      twoSe,
    };
  });
  console.log(
    `\nHTTP overhead: hello world, every server at a steady ${RATE} req/s at once, server CPU per request; ` +
      `${EPOCHS} times fresh servers, each time ${WARMUP_SECONDS} s of warm-up, then ${ROUNDS} windows ` +
      `of ${SECONDS} s in all; ratio: the median of the ratios to no agent (the mean of its two ` +
      'copies) in the same window (mean ± 2 standard errors)\n',
  );
  const width = Math.max(...SERVERS.map((v) => v.name.length));
  console.log(`  ${'variant'.padEnd(width)} ${'CPU/request'.padStart(11)}   ratio   (mean ± 2 SE)`);
  for (const r of rows)
    console.log(
      `  ${r.variant.padEnd(width)} ${r.usPerRequest.toFixed(1).padStart(8)} µs   ${r.ratio.toFixed(3)}×  ` +
        `(${r.mean.toFixed(3)} ± ${r.twoSe.toFixed(3)})`,
    );
  if (late > 0) {
    console.log(
      `\n  ${late} of ${ROUNDS} windows ran over 1.1× their length: the load fell behind`,
    );
  }
  console.log(
    `\nIdle cost: the same servers, warm, with no requests for ${IDLE_SECONDS} s: CPU time a second\n`,
  );
  for (const r of idle)
    console.log(`  ${r.variant.padEnd(width)} ${r.msPerSecond.toFixed(2).padStart(7)} ms`);
  const agent = rows[1].ratio;
  console.log(
    `\n  target: full default agent ≤ 1.05× no agent: ${agent.toFixed(3)}× ${agent <= 1.05 ? 'PASS' : 'MISS'}` +
      ` (the two no-agent copies read ${rows[0].ratio.toFixed(3)}× and ${rows[rows.length - 1].ratio.toFixed(3)}×)`,
  );
  if (json) {
    const out = {
      rate: RATE,
      seconds: SECONDS,
      warmup: WARMUP_SECONDS,
      rounds: ROUNDS,
      epochs: EPOCHS,
      late,
      rows,
      idle,
    };
    console.log(JSON.stringify(out, null, 2));
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 0;
});
