// An Express app: the agent reads each request's route from Express (`/api/orders/:id`,
// including a router's mount path), so PCP sees routes, not raw URLs.
//   node --require pcp-agent examples/express-app.js

const express = require('express');

const app = express();
const orders = express.Router();
orders.get('/:id', (req, res) => res.json({ id: req.params.id, status: 'shipped' }));
orders.post('/', (_req, res) => res.status(201).json({ id: 42 }));
app.use('/api/orders', orders);
app.get('/health', (_req, res) => res.send('ok'));
app.get('/boom', () => {
  throw new Error('boom'); // Express answers 500: counted in http.server.errors
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

if (process.env.EXAMPLE_SECONDS) {
  setTimeout(() => server.close(), Number(process.env.EXAMPLE_SECONDS) * 1000).unref();
}
