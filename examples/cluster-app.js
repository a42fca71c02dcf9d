// A node:cluster app: the primary and each worker publish their own file, so PCP shows
// mmv.<app>.* (the primary) and mmv.<app>.worker1.*, mmv.<app>.worker2.* (the workers).
//   node --require pcp-agent examples/cluster-app.js
// A restarted worker takes the free slot, so names stay the same across restarts.

const cluster = require('node:cluster');
const http = require('node:http');

const WORKERS = Number(process.env.WORKERS ?? 2);

if (cluster.isPrimary) {
  let listening = 0;
  for (let k = 0; k < WORKERS; k++) cluster.fork();
  cluster.on('listening', (_worker, address) => {
    if (++listening === WORKERS) console.log(`listening on http://127.0.0.1:${address.port}`);
  });
  if (process.env.EXAMPLE_SECONDS) {
    setTimeout(() => {
      for (const w of Object.values(cluster.workers)) w.disconnect();
    }, Number(process.env.EXAMPLE_SECONDS) * 1000).unref();
  }
} else {
  const server = http.createServer((_req, res) => res.end(`worker ${cluster.worker.id}\n`));
  server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  cluster.worker.on('disconnect', () => server.close());
}
