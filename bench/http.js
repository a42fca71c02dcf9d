// `npm run bench` (part 2): HTTP overhead. A hello-world server at a fixed request rate, load
// from a separate process (this one), with no agent, with the full default agent, and with
// a prom-client middleware doing the same work: server CPU time per request relative to no
// agent. Then what each server costs idle. Informational: exits 0.
//
// The load is paced here, a request every 1/RATE s spread over keep-alive connections: a
// steady arrival rate, as a service behind a load balancer sees. (autocannon's rate limit is
// a budget per second: its requests come in one burst at the start of each second and the
// server idles the rest, where every periodic wake-up of an agent lands.)
//
// CPU time on these shared VMs drifts by 10-20% over minutes, more than the effect measured.
// So all the servers run side by side, each warmed up once on its own connections (new
// connections would re-optimize the server's code during the count), and then take turns:
// ROUNDS short windows each, the variants' order rotating, and each variant's ratio is the
// median of its ratios to the no-agent window of the same round.

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { VARIANTS, spawnServer } = require('./http-variants');

const json = process.argv.includes('--json');
const RATE = Number(process.env.BENCH_HTTP_RATE ?? 3000);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
const WARMUP_SECONDS = Number(process.env.BENCH_HTTP_WARMUP ?? 10);
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 9);
const IDLE_SECONDS = 10;
const CONNECTIONS = 10;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * GET /hello at RATE requests per second for `seconds` on the agent's connections: each
 * millisecond, the requests due by then. Resolves to the count of failed requests.
 */
function load(port, agent, seconds) {
  const total = Math.round(RATE * seconds);
  let sent = 0;
  let done = 0;
  let bad = 0;
  return new Promise((resolve) => {
    const finish = () => {
      done++;
      if (done < total) return;
      clearInterval(pacer);
      resolve(bad);
    };
    const one = () => {
      const req = http.get({ host: '127.0.0.1', port, path: '/hello', agent }, (res) => {
        if (res.statusCode !== 200) bad++;
        res.resume();
        res.on('end', finish);
      });
      req.on('error', () => {
        bad++;
        finish();
      });
    };
    const t0 = performance.now();
    const pacer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * RATE) / 1000));
      while (sent < due) {
        sent++;
        one();
      }
    }, 1);
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Server CPU microseconds and requests served between a reset and a report. */
async function window(server, during) {
  await server.ask('reset');
  await during();
  const [, cpuUs, served] = (await server.ask('report')).split(' ').map(Number);
  return { cpuUs, served };
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-bench-http-'));
  const servers = [];
  const perRequest = VARIANTS.map(() => []);
  const ratios = VARIANTS.map(() => []);
  let idle = [];
  try {
    for (const variant of VARIANTS) {
      const server = spawnServer(process.execPath, [], variant, tmp);
      server.port = Number((await server.next()).split(' ')[1]);
      server.agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      servers.push(server);
    }
    for (const [k, s] of servers.entries()) {
      const bad = await load(s.port, s.agent, WARMUP_SECONDS);
      if (bad > 0) throw new Error(`${VARIANTS[k].name}: ${bad} failed requests in the warm-up`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const us = [];
      for (let j = 0; j < servers.length; j++) {
        const k = (round + j) % servers.length;
        const s = servers[k];
        let bad = 0;
        const w = await window(s, async () => {
          bad = await load(s.port, s.agent, SECONDS);
        });
        if (bad > 0) throw new Error(`${VARIANTS[k].name}: ${bad} failed requests in the load`);
        us[k] = w.cpuUs / w.served;
        perRequest[k].push(us[k]);
      }
      for (let k = 0; k < servers.length; k++) ratios[k].push(us[k] / us[0]);
    }
    // Idle: all at once, with no requests; each server's own CPU time.
    const idleWindows = await Promise.all(
      servers.map((s) => window(s, () => sleep(IDLE_SECONDS * 1000))),
    );
    idle = idleWindows.map((w, k) => ({
      variant: VARIANTS[k].name,
      msPerSecond: w.cpuUs / 1000 / IDLE_SECONDS,
    }));
  } finally {
    for (const s of servers) {
      s.agent.destroy();
      s.child.stdin.write('quit\n');
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.child.on('exit', r))));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const rows = VARIANTS.map((v, k) => ({
    variant: v.name,
    usPerRequest: median(perRequest[k]),
    ratio: median(ratios[k]),
    ratioRange: [Math.min(...ratios[k]), Math.max(...ratios[k])],
  }));
  console.log(
    `\nHTTP overhead: hello world at a steady ${RATE} req/s, server CPU per request; after ${WARMUP_SECONDS} s of warm-up each, ` +
      `${ROUNDS} rounds of ${SECONDS} s per variant, the median of the ratios to no agent in the same round\n`,
  );
  console.log(`  ${'variant'.padEnd(28)} ${'CPU/request'.padStart(11)}   ratio   (rounds' range)`);
  for (const r of rows)
    console.log(
      `  ${r.variant.padEnd(28)} ${r.usPerRequest.toFixed(1).padStart(8)} µs   ${r.ratio.toFixed(3)}×  ` +
        `(${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)})`,
    );
  console.log(
    `\nIdle cost: the same servers, warm, with no requests for ${IDLE_SECONDS} s: CPU time a second\n`,
  );
  for (const r of idle)
    console.log(`  ${r.variant.padEnd(28)} ${r.msPerSecond.toFixed(2).padStart(7)} ms`);
  const agent = rows[1].ratio;
  console.log(
    `\n  target: full default agent ≤ 1.05× no agent: ${agent.toFixed(3)}× ${agent <= 1.05 ? 'PASS' : 'MISS'}`,
  );
  if (json) {
    const out = {
      rate: RATE,
      seconds: SECONDS,
      warmup: WARMUP_SECONDS,
      rounds: ROUNDS,
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
