// An ES module app: `--import` loads the agent before the app's own imports.
//   node --import pcp-agent examples/esm-app.mjs
// It also adds a metric of its own to the same file, through the default registry.

import http from 'node:http';
import { defaultRegistry } from 'pcp-agent';

const signups = defaultRegistry().counter('app.signups', { help: 'Accounts created' });

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/signup') {
    signups.inc();
    res.statusCode = 201;
  }
  res.end();
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

if (process.env.EXAMPLE_SECONDS) {
  setTimeout(() => server.close(), Number(process.env.EXAMPLE_SECONDS) * 1000).unref();
}
