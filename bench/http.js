// `npm run bench` (part 2): HTTP overhead. A hello-world server at a fixed request rate, load
// from a separate process (autocannon), with no agent, with the full default agent, and with
// a prom-client middleware doing the same work: server CPU time per request relative to no
// agent, variants interleaved round by round, median of rounds. Informational: exits 0.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { VARIANTS, spawnServer } = require('./http-variants');

const json = process.argv.includes('--json');
const RATE = Number(process.env.BENCH_HTTP_RATE ?? 3000);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 3);

function startServer(variant, tmp) {
  return spawnServer(process.execPath, [], variant, tmp);
}

function load(port) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}/hello`,
        connections: 10,
        overallRate: RATE,
        duration: SECONDS,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-bench-http-'));
  const perRequest = new Map(VARIANTS.map((v) => [v.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of VARIANTS) {
        const server = startServer(variant, tmp);
        const port = Number((await server.next()).split(' ')[1]);
        await load(port).catch(() => undefined); // warm-up at the same rate, not counted
        await server.ask('reset');
        const result = await load(port);
        const [, cpuUs, served] = (await server.ask('report')).split(' ').map(Number);
        server.child.stdin.write('quit\n');
        await new Promise((r) => server.child.on('exit', r));
        if (result.non2xx || result.errors) throw new Error(`${variant.name}: errors in the load`);
        perRequest.get(variant.name).push(cpuUs / served);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const base = median(perRequest.get('no agent'));
  const rows = VARIANTS.map((v) => {
    const us = median(perRequest.get(v.name));
    return { variant: v.name, usPerRequest: us, ratio: us / base };
  });
  console.log(
    `\nHTTP overhead: hello world at ${RATE} req/s for ${SECONDS} s, ${ROUNDS} rounds (median), server CPU per request\n`,
  );
  for (const r of rows)
    console.log(
      `  ${r.variant.padEnd(28)} ${r.usPerRequest.toFixed(1).padStart(7)} µs   ${r.ratio.toFixed(3)}×`,
    );
  const agent = rows[1].ratio;
  console.log(
    `\n  target: full default agent ≤ 1.05× no agent: ${agent.toFixed(3)}× ${agent <= 1.05 ? 'PASS' : 'MISS'}`,
  );
  if (json)
    console.log(JSON.stringify({ rate: RATE, seconds: SECONDS, rounds: ROUNDS, rows }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 0;
});
