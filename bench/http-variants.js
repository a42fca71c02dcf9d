// What bench/http.js and bench/http-instructions.js share: the server variants compared, and
// how a server under test is spawned and talked to (one command line in, one line out).

const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SERVER = path.join(__dirname, 'http-server.js');

const VARIANTS = [
  { name: 'no agent', args: [], env: {} },
  { name: 'pcp-agent (all defaults)', args: ['--require', 'pcp-agent'], env: {} },
  {
    name: 'pcp-agent + request context',
    args: ['--require', 'pcp-agent'],
    env: { PCP_AGENT_CONTEXT: 'true' },
  },
  { name: 'floor: hand-written timing', args: [], env: { BENCH_VARIANT: 'floor' } },
  {
    name: 'prom-client middleware + default metrics',
    args: [],
    env: { BENCH_VARIANT: 'prom-client' },
  },
  {
    name: 'OpenTelemetry http + metrics',
    args: ['--require', path.join(__dirname, 'otel-http.js')],
    env: {},
  },
];

// BENCH_HTTP_GC=true adds the agent with its GC metrics on, as prom-client's default metrics
// have theirs: one more server, so a slower machine's load may fall behind.
if (process.env.BENCH_HTTP_GC === 'true') {
  VARIANTS.splice(2, 0, {
    name: 'pcp-agent + GC metrics',
    args: ['--require', 'pcp-agent'],
    env: { PCP_AGENT_GC: 'true' },
  });
}

/**
 * Spawns `command [...prefix, node args of the variant, the server]` with the agent's file in
 * tmp; returns the child, next() (the next stdout line) and ask(cmd) (its answer).
 */
function spawnServer(command, prefix, variant, tmp, env = {}, stderr = 'inherit') {
  const child = spawn(command, [...prefix, ...variant.args, SERVER], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      PCP_AGENT_DIR: path.join(tmp, 'mmv'),
      PCP_AGENT_NAME: 'bench',
      ...env,
      ...variant.env,
    },
    stdio: ['pipe', 'pipe', stderr],
  });
  let buf = '';
  const waiters = [];
  child.stdout.setEncoding('utf8').on('data', (d) => {
    buf += d;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      nl = buf.indexOf('\n');
    }
  });
  const next = () => new Promise((resolve) => waiters.push(resolve));
  const ask = (cmd) => {
    const p = next();
    child.stdin.write(`${cmd}\n`);
    return p;
  };
  return { child, next, ask };
}

module.exports = { VARIANTS, spawnServer };
