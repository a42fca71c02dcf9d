// The app behind `npm run demo`: a small shop on plain node:http, with no metrics code of
// its own. The agent (`--require pcp-agent`) instruments it: routes, statuses, durations,
// bytes, its calls to a "payments" service with fetch, its timers, and the runtime.

const http = require('node:http');

const products = new Map([
  ['1', { id: 1, name: 'tea', price: 4 }],
  ['2', { id: 2, name: 'cake', price: 3 }],
]);

function send(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://shop');
  const product = /^\/products\/(\d+)$/.exec(url.pathname);
  try {
    if (req.method === 'GET' && url.pathname === '/products') {
      send(res, 200, [...products.values()]);
    } else if (req.method === 'GET' && product) {
      const p = products.get(product[1]);
      send(res, p ? 200 : 404, p ?? { error: 'no such product' });
    } else if (req.method === 'POST' && url.pathname === '/checkout') {
      // A call to another service: counted in http.client.* by host and status class.
      const paid = await fetch(`http://127.0.0.1:${server.address().port}/payments`, {
        method: 'POST',
      });
      await paid.text();
      // Some work later: counted in timers.*.
      setTimeout(() => send(res, paid.ok ? 201 : 502, { ok: paid.ok }), 5);
    } else if (req.method === 'POST' && url.pathname === '/payments') {
      send(res, Math.random() < 0.9 ? 200 : 503, {});
    } else {
      send(res, 404, { error: 'not found' });
    }
  } catch {
    send(res, 500, { error: 'internal' });
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`PORT ${server.address().port}`);
});
process.stdin.on('data', () => {
  server.close();
  process.stdin.destroy();
});
