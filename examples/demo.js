// `npm run demo`: runs examples/demo-shop.js under the agent (`node --require pcp-agent`),
// sends it traffic for a few seconds, and shows its metrics live with `pcp-agent watch`
// (no PCP needed); where PCP is installed, also what pmdammv serves (pminfo, in-process).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const SECONDS = Number(process.env.DEMO_SECONDS || 4);
// What the demo shows of the ~200 values (`pcp-agent watch demo` alone shows them all).
const FILTER = [
  'http.server.requests',
  'http.server.duration.p99',
  'http.server.in_flight',
  'http.client.requests',
  'http.client.duration.p99',
  'timers.fired',
  'runtime.eventloop.delay.p99',
  'runtime.heap.used',
  'pcp_agent.version',
].join(',');
const { pickDir, showWithPcp } = require('./pcp-env');
const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

const { pcpTmpDir, dir } = pickDir();
const env = { ...process.env, PCP_TMP_DIR: pcpTmpDir, PCP_AGENT_DIR: dir, PCP_AGENT_NAME: 'demo' };

const shop = spawn(
  process.execPath,
  ['--require', 'pcp-agent', path.join(__dirname, 'demo-shop.js')],
  {
    cwd: ROOT,
    env: { ...env, PCP_AGENT_WINDOW: '1000' },
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);

shop.stdout.setEncoding('utf8').once('data', (line) => {
  const port = Number(line.split(' ')[1]);
  console.log(
    `Started: node --require pcp-agent examples/demo-shop.js (port ${port}); sending it traffic for ${SECONDS} s.\n`,
  );
  const agent = new http.Agent({ keepAlive: true });
  const paths = [
    ['GET', '/products'],
    ['GET', '/products/1'],
    ['GET', '/products/2'],
    ['GET', '/products/9'],
    ['POST', '/checkout'],
    ['GET', '/nowhere'],
  ];
  let k = 0;
  const load = setInterval(() => {
    for (let j = 0; j < 5; j++) {
      const [method, p] = paths[k++ % paths.length];
      http
        .request({ host: '127.0.0.1', port, method, path: p, agent }, (res) => res.resume())
        .on('error', () => {})
        .end();
    }
  }, 10);

  // Two frames of `pcp-agent watch`, a second apart, while the traffic runs: values, and
  // rates per second for counters.
  setTimeout(
    () => {
      console.log(`$ pcp-agent watch demo --filter ${FILTER} --count 2\n`);
      const watch = spawn(
        process.execPath,
        [CLI, 'watch', 'demo', '--dir', dir, '--filter', FILTER, '--count', '2'],
        { env, stdio: ['ignore', 'inherit', 'inherit'] },
      );
      watch.on('exit', () => {
        clearInterval(load);
        agent.destroy();
        showWithPcp(pcpTmpDir, 'mmv.demo.http.server.requests');
        shop.stdin.end('quit\n');
      });
    },
    Math.max(1000, (SECONDS - 2) * 1000),
  );
});

shop.on('exit', (code) => {
  console.log(
    `\nThe shop exited (code ${code}); its file is gone: ${!fs.existsSync(path.join(dir, 'demo'))}.`,
  );
});
