// A Fastify app: the agent takes each request's route from Fastify (`/items/:id`).
//   node --require pcp-agent examples/fastify-app.js

const fastify = require('fastify')();

fastify.get('/items/:id', async (req) => ({ id: req.params.id }));
fastify.get('/health', async () => 'ok');

fastify.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' }).then(() => {
  console.log(`listening on http://127.0.0.1:${fastify.server.address().port}`);
});

if (process.env.EXAMPLE_SECONDS) {
  setTimeout(() => fastify.close(), Number(process.env.EXAMPLE_SECONDS) * 1000).unref();
}
