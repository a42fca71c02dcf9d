// A plain node:http server, instrumented by the agent with no code change:
//   node --require pcp-agent examples/http-server.js
// then `npx pcp-agent watch pcp_agent` (or `pminfo -f mmv.pcp_agent.http.server`).
// PORT picks the port (default 3000; 0 for any); EXAMPLE_SECONDS stops it after that long.

const http = require('node:http');

const users = new Map([
  ['1', { id: 1, name: 'Ada' }],
  ['2', { id: 2, name: 'Grace' }],
]);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const user = /^\/users\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && url.pathname === '/health') {
    res.end('ok');
  } else if (req.method === 'GET' && user) {
    const found = users.get(user[1]);
    res.statusCode = found ? 200 : 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(found ?? { error: 'no such user' }));
  } else {
    res.statusCode = 404;
    res.end('not found');
  }
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  // Paths like /users/1 and /users/2 are one route to PCP: /users/:id.
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

if (process.env.EXAMPLE_SECONDS) {
  setTimeout(() => server.close(), Number(process.env.EXAMPLE_SECONDS) * 1000).unref();
}
