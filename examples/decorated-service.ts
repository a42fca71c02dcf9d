// A service class with decorated methods inside a plain node:http server: its calls, errors,
// durations and stock level appear in PCP beside the agent's HTTP metrics.
//
//   npx tsc -p examples/decorated-service.tsconfig.json        # → dist/examples/
//   PCP_AGENT_NAME=shop PCP_AGENT_CONTEXT=1 node --require pcp-agent dist/examples/decorated-service.js
//   curl -X POST localhost:3000/orders/apple; curl localhost:3000/quote/pear
//   pminfo -f mmv.shop.methods                                  # or: npx pcp-agent watch shop
//
// Standard decorators, as TypeScript 5+ compiles them with no flag. The same code compiles
// with experimentalDecorators too (as NestJS apps do), except @Gauge on an instance member.
// PORT picks the port (default 3000; 0 for any); EXAMPLE_SECONDS stops it after that long.

import * as http from 'node:http';
import { Counter, Gauge, Histogram, Timer } from 'pcp-agent';

class OutOfStock extends Error {}

const PRICES = new Map([
  ['apple', 0.5],
  ['pear', 0.75],
]);

const stock = new Map([
  ['apple', 3],
  ['pear', 5],
]);

class Inventory {
  /** Read at each flush: `methods.Inventory.inStock`. */
  @Gauge({ help: 'Items in stock, all products' })
  static get inStock(): number {
    let n = 0;
    for (const left of stock.values()) n += left;
    return n;
  }

  /** Counted per product: `methods.Inventory.take.count` has an instance per SKU. */
  @Counter({ instance: (sku) => String(sku), instances: [...PRICES.keys()] })
  take(sku: string): number {
    const left = stock.get(sku) ?? 0;
    if (left === 0) throw new OutOfStock(`${sku} is out of stock`);
    stock.set(sku, left - 1);
    return left - 1;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** On the class: every method is timed (`methods.OrderService.<method>.count/.time/.errors`). */
@Timer()
class OrderService {
  constructor(private readonly inventory: Inventory) {}

  async place(sku: string): Promise<{ sku: string; left: number }> {
    await pause(5); // the payment provider
    return { sku, left: this.inventory.take(sku) };
  }

  /** Its own decorator wins over the class's: the distribution of its durations. */
  @Histogram({ help: 'Price lookups', buckets: [1, 5, 10, 50] })
  async quote(sku: string): Promise<number> {
    await pause(2); // the price service
    return PRICES.get(sku) ?? 0;
  }
}

const orders = new OrderService(new Inventory());

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  const [, resource, sku = ''] = (req.url ?? '/').split('/');
  try {
    if (!PRICES.has(sku)) reply(res, 404, { error: 'no such product' });
    else if (req.method === 'POST' && resource === 'orders')
      reply(res, 201, await orders.place(sku));
    else if (req.method === 'GET' && resource === 'quote')
      reply(res, 200, { sku, price: await orders.quote(sku) });
    else reply(res, 404, { error: 'not found' });
  } catch (err) {
    reply(res, err instanceof OutOfStock ? 409 : 500, { error: String(err) });
  }
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
});

if (process.env.EXAMPLE_SECONDS) {
  setTimeout(() => server.close(), Number(process.env.EXAMPLE_SECONDS) * 1000).unref();
}
