// The HTTP server instrumentation, in-process: real servers on 127.0.0.1, known traffic, and
// the values the agent's registry wrote to its MMV file, read back.

import 'reflect-metadata';
import diagnostics from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import Router from '@koa/router';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { ABORTED_STATUS, httpServerInstrumentation } from '../agent/instrument/http-server';
import type { AgentConfig, Instrumentation } from '../agent/types';
import { readMmvFile } from '../src/index';
import { makeTestAgent, type TestAgent } from './support/agent';
import { selfSignedCert } from './support/tls';

let agent: TestAgent | undefined;
let instrumentation: Instrumentation | undefined;
const cleanups: (() => unknown)[] = [];

function start(config: Partial<AgentConfig> = {}): TestAgent {
  agent = makeTestAgent(config);
  instrumentation = httpServerInstrumentation();
  instrumentation.enable(agent);
  return agent;
}

afterEach(async () => {
  instrumentation?.disable();
  instrumentation = undefined;
  for (const fn of cleanups.splice(0).reverse()) await fn();
  agent?.close();
  agent = undefined;
});

type AnyServer = http.Server | https.Server;

async function listen(server: AnyServer): Promise<number> {
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

interface Reply {
  status: number;
  body: string;
}

/** One request on its own connection. */
function send(
  port: number,
  path: string,
  options: { method?: string; body?: string; tls?: boolean } = {},
): Promise<Reply> {
  const lib = options.tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        agent: false,
        rejectUnauthorized: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function sendAll(port: number, paths: string[], method = 'GET'): Promise<Reply[]> {
  const out: Reply[] = [];
  for (const p of paths) out.push(await send(port, p, { method }));
  return out;
}

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A value as a number: counters read back as bigint. */
function num(metric: string, instance = ''): number | undefined {
  const v = agent?.value(metric, instance);
  return v === undefined ? undefined : Number(v);
}

/** Waits until every request the servers began has been recorded. */
async function settled(): Promise<void> {
  await until('in_flight back to 0', () => num('http.server.in_flight') === 0);
}

function instances(metric: string): Map<string, number> {
  const m = agent?.values().get(metric) ?? new Map();
  return new Map([...m].map(([k, v]) => [k, Number(v)]));
}

/** The instances of a metric with a non-zero value. */
function nonZero(metric: string): Map<string, number> {
  return new Map([...instances(metric)].filter(([, v]) => v !== 0));
}

/** The labels of an instance of the routes domain: one label record per name. */
function labelsOf(instance: string): Record<string, unknown> {
  const a = agent as TestAgent;
  a.values(); // flush
  const file = readMmvFile(a.registry.path);
  const v = file.values.find(
    (x) => x.metric.endsWith('http.server.requests') && x.instance === instance,
  );
  const labels = file.labels.filter((l) => l.kind === 'instances' && l.instance === v?.instanceId);
  return Object.assign({}, ...labels.map((l) => l.parsed));
}

/** A plain server: /status/<code> answers with it, /missing… 404, /slow… never, else 200. */
function plainServer(seen: { n: number } = { n: 0 }): http.Server {
  return http.createServer((req, res) => {
    seen.n++;
    const url = req.url ?? '';
    if (url.startsWith('/slow')) return;
    const m = /^\/status\/(\d+)/.exec(url);
    res.statusCode = m ? Number(m[1]) : url.startsWith('/missing') ? 404 : 200;
    res.end('ok');
  });
}

describe('plain http server', () => {
  it('counts requests by METHOD:route:status with IDs folded into one route', async () => {
    start();
    const port = await listen(plainServer());
    await sendAll(
      port,
      Array.from({ length: 30 }, (_, i) => `/users/${i + 1}?page=${i}`),
    );
    await settled();
    expect(num('http.server.requests', 'GET:/users/:id:200')).toBe(30);
    expect(num('http.server.duration.count', 'GET:/users/:id:200')).toBe(30);
    expect(num('http.server.duration.bucket.le_inf', 'GET:/users/:id:200')).toBe(30);
    expect([...instances('http.server.requests').keys()]).toEqual(['GET:/users/:id:200']);
  });

  it('records every duration, past the 64 an instance queues between flushes', async () => {
    // Durations are queued per instance and recorded 64 at a time and at each flush: 130 is
    // two full queues and 2 more; 64 exactly is one full queue and nothing left over.
    start();
    const port = await listen(plainServer());
    await sendAll(
      port,
      Array.from({ length: 64 }, () => '/q'),
    );
    await settled();
    expect(num('http.server.duration.count', 'GET:/q:200')).toBe(64);
    await sendAll(
      port,
      Array.from({ length: 66 }, () => '/q'),
    );
    await settled();
    expect(num('http.server.requests', 'GET:/q:200')).toBe(130);
    expect(num('http.server.duration.count', 'GET:/q:200')).toBe(130);
    expect(num('http.server.duration.bucket.le_inf', 'GET:/q:200')).toBe(130);
    expect(num('http.server.duration.sum', 'GET:/q:200')).toBeGreaterThan(0);
  });

  it('gives each instance method, route and status labels', async () => {
    start();
    const port = await listen(plainServer());
    await send(port, '/orders/7', { method: 'POST', body: 'x' });
    await settled();
    expect(labelsOf('POST:/orders/:id:200')).toEqual({
      method: 'POST',
      route: '/orders/:id',
      status: 200,
    });
  });

  it('separates statuses, counts >= 500 as errors, and 404s without a route as _unmatched', async () => {
    start();
    const port = await listen(plainServer());
    await sendAll(port, ['/a', '/a', '/a', '/a', '/a']);
    await sendAll(port, ['/missing/1', '/missing/.env', '/missing/wp-login.php', '/missing/x/y']);
    await sendAll(port, ['/status/500', '/status/503', '/status/500']);
    await settled();
    expect(instances('http.server.requests')).toEqual(
      new Map([
        ['GET:/a:200', 5],
        ['GET:_unmatched:404', 4],
        ['GET:/status/:id:500', 2],
        ['GET:/status/:id:503', 1],
      ]),
    );
    expect(nonZero('http.server.errors')).toEqual(
      new Map([
        ['GET:/status/:id:500', 2],
        ['GET:/status/:id:503', 1],
      ]),
    );
    expect(nonZero('http.server.aborted')).toEqual(new Map());
  });

  it('counts a listener that throws as an error and rethrows the same error', async () => {
    start();
    const boom = new Error('listener failed');
    const server = http.createServer(() => {
      throw boom;
    });
    const port = await listen(server);
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const caught: unknown[] = [];
    const onError = (err: unknown) => caught.push(err);
    process.on('uncaughtException', onError);
    try {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET /throws HTTP/1.1\r\nHost: x\r\n\r\n');
      await until('the error to reach the process', () => caught.length === 1);
      expect(caught[0]).toBe(boom);
      socket.destroy();
      await settled();
    } finally {
      process.off('uncaughtException', onError);
      for (const l of saved) process.on('uncaughtException', l);
    }
    // The listener never answered and the client left: aborted too, and one error.
    expect(num('http.server.requests', `GET:/throws:${ABORTED_STATUS}`)).toBe(1);
    expect(nonZero('http.server.errors')).toEqual(new Map([[`GET:/throws:${ABORTED_STATUS}`, 1]]));
    expect(nonZero('http.server.aborted')).toEqual(new Map([[`GET:/throws:${ABORTED_STATUS}`, 1]]));
  });

  it('counts requests whose client closes before the response as aborted, status 499', async () => {
    start();
    const seen = { n: 0 };
    const port = await listen(plainServer(seen));
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.write(`GET /slow/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      sockets.push(s);
    }
    await until('the server to get the requests', () => seen.n === 4);
    expect(num('http.server.in_flight')).toBe(4);
    for (const s of sockets) s.destroy();
    await settled();
    expect(nonZero('http.server.aborted')).toEqual(new Map([['GET:/slow/:id:499', 4]]));
    expect(num('http.server.requests', 'GET:/slow/:id:499')).toBe(4);
    expect(nonZero('http.server.errors')).toEqual(new Map());
  });

  it('counts the bytes of each request and response on a keep-alive connection', async () => {
    start();
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('Content-Length', req.url === '/big' ? 1000 : 2);
        res.end(req.url === '/big' ? 'b'.repeat(1000) : 'ok');
      });
    });
    const port = await listen(server);
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const exchange = (request: string) =>
      new Promise<number>((resolve) => {
        let got = Buffer.alloc(0);
        const onData = (d: Buffer) => {
          got = Buffer.concat([got, d]);
          const head = got.indexOf('\r\n\r\n');
          if (head < 0) return;
          const len = Number(/content-length: (\d+)/i.exec(got.subarray(0, head).toString())?.[1]);
          if (got.length === head + 4 + len) {
            socket.off('data', onData);
            resolve(got.length);
          }
        };
        socket.on('data', onData);
        socket.write(request);
      });
    const body = 'x'.repeat(123);
    const post = `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const get = 'GET /big HTTP/1.1\r\nHost: x\r\n\r\n';
    const postReply = await exchange(post);
    const getReply = await exchange(get);
    await settled();
    socket.destroy();
    expect(num('http.server.request_bytes', 'POST:/upload:200')).toBe(Buffer.byteLength(post));
    expect(num('http.server.response_bytes', 'POST:/upload:200')).toBe(postReply);
    expect(num('http.server.request_bytes', 'GET:/big:200')).toBe(Buffer.byteLength(get));
    expect(num('http.server.response_bytes', 'GET:/big:200')).toBe(getReply);
    expect(getReply).toBeGreaterThan(1000);
  });

  it('shows requests in flight and returns to 0', async () => {
    start();
    let answer: (() => void) | undefined;
    const server = http.createServer((_req, res) => {
      answer = () => res.end('late');
    });
    const port = await listen(server);
    const pending = send(port, '/wait');
    await until('the request to arrive', () => answer !== undefined);
    expect(num('http.server.in_flight')).toBe(1);
    answer?.();
    await pending;
    await settled();
    expect(num('http.server.requests', 'GET:/wait:200')).toBe(1);
  });

  it('folds routes past maxRoutes into _overflow', async () => {
    start({ maxRoutes: 3 });
    const port = await listen(plainServer());
    const paths = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'].map((p) => `/${p}`);
    await sendAll(port, [...paths, '/alpha', '/delta']);
    await settled();
    const got = instances('http.server.requests');
    expect(got.get('GET:/alpha:200')).toBe(2);
    expect(got.get('GET:/beta:200')).toBe(1);
    expect(got.get('GET:/gamma:200')).toBe(1);
    expect(got.get('_overflow')).toBe(5);
    expect(got.size).toBe(4);
    // delta, epsilon, zeta and eta were dropped; /delta's second request is not a new name.
    expect(num('pcp_agent.instances.overflowed')).toBe(4);
  });

  it('finds the instance of each method and status of a URL it has seen before', async () => {
    start();
    let n = 0;
    // The same URL answers 200, 503, 200, 503, ...: one route, two statuses, two methods.
    const port = await listen(
      http.createServer((_req, res) => {
        res.statusCode = n++ % 2 === 0 ? 200 : 503;
        res.end('ok');
      }),
    );
    await sendAll(port, Array(6).fill('/flip/7'));
    await sendAll(port, Array(4).fill('/flip/7'), 'POST');
    await sendAll(port, ['/flip/8', '/flip/9']);
    await settled();
    expect(instances('http.server.requests')).toEqual(
      new Map([
        ['GET:/flip/:id:200', 4],
        ['GET:/flip/:id:503', 4],
        ['POST:/flip/:id:200', 2],
        ['POST:/flip/:id:503', 2],
      ]),
    );
    expect(num('http.server.errors', 'GET:/flip/:id:503')).toBe(4);
  });

  it('counts every request of a route of more URLs than it remembers (1000)', async () => {
    start();
    const port = await listen(plainServer());
    const urls = Array.from({ length: 1200 }, (_, i) => `/items/${i}`);
    await sendAll(port, [...urls, '/items/3', '/items/1199', '/other']);
    await settled();
    expect(instances('http.server.requests')).toEqual(
      new Map([
        ['GET:/items/:id:200', 1202],
        ['GET:/other:200', 1],
      ]),
    );
  });

  it('caps instances per route too: statuses past the domain cap go to _overflow', async () => {
    start({ maxRoutes: 1 });
    const port = await listen(plainServer());
    await sendAll(port, [
      '/status/201',
      '/status/202',
      '/status/203',
      '/status/204',
      '/status/205',
    ]);
    await sendAll(port, ['/status/201', '/status/205']);
    await settled();
    const got = instances('http.server.requests');
    expect(got.get('GET:/status/:id:201')).toBe(2);
    expect(got.get('GET:/status/:id:202')).toBe(1);
    expect(got.get('GET:/status/:id:203')).toBe(1);
    expect(got.get('_overflow')).toBe(3);
    expect(got.size).toBe(4);
    expect(num('pcp_agent.instances.overflowed')).toBe(2);
  });

  it('counts a request once when a server hands it to another server', async () => {
    start();
    const inner = http.createServer((_req, res) => res.end('inner'));
    const outer = http.createServer((req, res) => inner.emit('request', req, res));
    const port = await listen(outer);
    await sendAll(port, ['/handoff', '/handoff']);
    await settled();
    expect(num('http.server.requests', 'GET:/handoff:200')).toBe(2);
  });

  it('never throws into the app: a request it cannot observe reaches the listener once', async () => {
    const a = start();
    let calls = 0;
    const server = http.createServer(() => {
      calls++;
    });
    // A response that cannot take the agent's record (frozen): observing fails, serving does not.
    const res = Object.freeze(new EventEmitter());
    expect(server.emit('request', { url: '/x', socket: null }, res)).toBe(true);
    expect(calls).toBe(1);
    expect(a.faults.map((f) => f.code)).toEqual(['PCP_AGENT_WARN_HTTP_SERVER']);
    expect(num('http.server.in_flight')).toBe(0);
  });

  it('stops observing and restores emit when disabled', async () => {
    start();
    const port = await listen(plainServer());
    await send(port, '/before');
    await settled();
    instrumentation?.disable();
    expect(Object.hasOwn(http.Server.prototype, 'emit')).toBe(false);
    expect(Object.hasOwn(https.Server.prototype, 'emit')).toBe(false);
    expect(http.Server.prototype.emit).toBe(EventEmitter.prototype.emit);
    expect(diagnostics.hasSubscribers('tracing:fastify.request.handler:start')).toBe(false);
    await send(port, '/before');
    expect(num('http.server.requests', 'GET:/before:200')).toBe(1);
  });

  it('keeps what it counted when disabled before a flush, and requests that end after', async () => {
    start();
    let slow: http.ServerResponse | undefined;
    const closed: Promise<void>[] = [];
    const server = http.createServer((req, res) => {
      closed.push(new Promise((r) => res.on('close', () => r())));
      if (req.url === '/slow') slow = res;
      else res.end('ok');
    });
    const port = await listen(server);
    await send(port, '/quick');
    const late = send(port, '/slow');
    await until('the slow request begun', () => slow !== undefined);
    await closed[0]; // /quick recorded by the agent's listener, before this one; no flush yet
    instrumentation?.disable();
    expect(num('http.server.requests', 'GET:/quick:200')).toBe(1);
    expect(num('http.server.in_flight')).toBe(1);
    slow?.end('late');
    await late;
    await closed[1];
    expect(num('http.server.requests', 'GET:/quick:200')).toBe(1);
    expect(num('http.server.requests', 'GET:/slow:200')).toBe(1);
    expect(num('http.server.response_bytes', 'GET:/slow:200')).toBeGreaterThan(0);
    expect(num('http.server.in_flight')).toBe(0);
  });

  it('is not enabled twice', () => {
    const a = start();
    const second = httpServerInstrumentation();
    second.enable(a);
    expect(a.faults.map((f) => f.code)).toEqual(['PCP_AGENT_WARN_HTTP_SERVER']);
    second.disable();
    expect(Object.hasOwn(http.Server.prototype, 'emit')).toBe(true);
  });
});

describe('request context', () => {
  it('runs the listener with a request state and adds its timer and method time to the route', async () => {
    const a = start({ context: true });
    expect(a.requests.current()).toBeUndefined();
    const server = http.createServer((_req, res) => {
      const state = a.requests.current();
      if (state) state.methodTime += 2.5;
      setTimeout(() => {
        const s = a.requests.current();
        if (s) s.timerTime += 7.25;
        res.end('ok');
      }, 1);
    });
    const port = await listen(server);
    await sendAll(port, ['/ctx', '/ctx', '/ctx']);
    await settled();
    expect(num('http.server.timers.time', 'GET:/ctx:200')).toBe(21.75);
    expect(num('http.server.methods.time', 'GET:/ctx:200')).toBe(7.5);
  });

  it('declares no context metrics when context is off', async () => {
    start();
    const port = await listen(plainServer());
    await send(port, '/x');
    await settled();
    expect(agent?.values().has('http.server.timers.time')).toBe(false);
    expect(agent?.values().has('http.server.methods.time')).toBe(false);
  });
});

describe('https server', () => {
  it('is observed like http (https.Server is a tls.Server, patched on its own)', async () => {
    start();
    const server = https.createServer(tlsOptions(), (_req, res) => res.end('secure'));
    const port = await listen(server);
    const requests = Array.from(
      { length: 5 },
      (_, i) => `GET /secure/${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    const replies = await Promise.all(
      requests.map(
        (request) =>
          new Promise<Buffer>((resolve, reject) => {
            const chunks: Buffer[] = [];
            const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
              s.write(request),
            );
            s.on('data', (d: Buffer) => chunks.push(d));
            s.on('end', () => resolve(Buffer.concat(chunks)));
            s.on('error', reject);
          }),
      ),
    );
    expect(replies.every((r) => r.toString().endsWith('secure'))).toBe(true);
    await settled();
    expect(num('http.server.requests', 'GET:/secure/:id:200')).toBe(5);
    // The decrypted HTTP bytes, exactly: no TLS handshakes or records.
    const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
    expect(num('http.server.request_bytes', 'GET:/secure/:id:200')).toBe(
      sum(requests.map((r) => Buffer.byteLength(r))),
    );
    expect(num('http.server.response_bytes', 'GET:/secure/:id:200')).toBe(
      sum(replies.map((r) => r.length)),
    );
  });
});

function tlsOptions(): { key: Buffer; cert: Buffer } {
  return selfSignedCert('localhost');
}

describe('framework routes', () => {
  it('Express: route patterns, nested routers with their mount path, 404s as _unmatched', async () => {
    start();
    const app = express();
    app.get('/users/:id', (_req, res) => {
      res.send('user');
    });
    const api = express.Router();
    api.get('/items/:itemId', (req, res) => {
      if (req.query.fail) throw new Error('item failed');
      res.send('item');
    });
    app.use('/api', api);
    const port = await listen(http.createServer(app));
    await sendAll(
      port,
      Array.from({ length: 10 }, (_, i) => `/users/u${i}`),
    );
    await sendAll(port, ['/api/items/a', '/api/items/b', '/api/items/c']);
    await sendAll(port, ['/api/items/d?fail=1', '/api/items/e?fail=1']);
    await sendAll(port, ['/nothing/here', '/nor/here', '/api/none', '/users']);
    await settled();
    expect(instances('http.server.requests')).toEqual(
      new Map([
        ['GET:/users/:id:200', 10],
        ['GET:/api/items/:itemId:200', 3],
        ['GET:/api/items/:itemId:500', 2],
        ['GET:_unmatched:404', 4],
      ]),
    );
    expect(nonZero('http.server.errors')).toEqual(new Map([['GET:/api/items/:itemId:500', 2]]));
  });

  it('Fastify: the route from its handler channel, prefixes included', async () => {
    start();
    const app = Fastify({ logger: false });
    app.get('/users/:id', async () => 'user');
    app.register(
      async (f) => {
        f.get('/items/:itemId', async (req) => {
          if ((req.query as { fail?: string }).fail) throw new Error('item failed');
          return 'item';
        });
      },
      { prefix: '/v1' },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const port = (app.server.address() as net.AddressInfo).port;
    await sendAll(
      port,
      Array.from({ length: 6 }, (_, i) => `/users/name${i}`),
    );
    await sendAll(port, ['/v1/items/a', '/v1/items/b?fail=1']);
    await sendAll(port, ['/missing', '/v1/missing']);
    await settled();
    expect(instances('http.server.requests')).toEqual(
      new Map([
        ['GET:/users/:id:200', 6],
        ['GET:/v1/items/:itemId:200', 1],
        ['GET:/v1/items/:itemId:500', 1],
        ['GET:_unmatched:404', 2],
      ]),
    );
  });

  it('Koa with @koa/router: the matched route, router prefixes included', async () => {
    start();
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.get('/users/:id', (ctx) => {
      ctx.body = 'user';
    });
    const v1 = new Router({ prefix: '/v1' });
    v1.get('/items/:itemId', (ctx) => {
      if (ctx.query.fail) throw new Error('item failed');
      ctx.body = 'item';
    });
    app.use(router.routes()).use(v1.routes());
    const createContext = Koa.prototype.createContext;
    const port = await listen(http.createServer(app.callback()));
    await sendAll(
      port,
      Array.from({ length: 7 }, (_, i) => `/users/name${i}`),
    );
    await sendAll(port, ['/v1/items/a', '/v1/items/b?fail=1']);
    await sendAll(port, ['/missing', '/v1/missing/thing']);
    await settled();
    expect(instances('http.server.requests')).toEqual(
      new Map([
        ['GET:/users/:id:200', 7],
        ['GET:/v1/items/:itemId:200', 1],
        ['GET:/v1/items/:itemId:500', 1],
        ['GET:_unmatched:404', 2],
      ]),
    );
    expect(Koa.prototype.createContext).not.toBe(createContext);
    instrumentation?.disable();
    expect(Koa.prototype.createContext).toBe(createContext);
  });

  it('NestJS on Express: the controller route', async () => {
    start();
    // Nest is ESM-only (hence import()); its decorators are applied as plain calls, which is
    // what TypeScript's legacy decorator output does, so no decorator compiler settings.
    const { Controller, Get, Module, Param } = await import('@nestjs/common');
    const { NestFactory } = await import('@nestjs/core');
    class UsersController {
      find(id: string): string {
        return `user ${id}`;
      }
    }
    Param('id')(UsersController.prototype, 'find', 0);
    Get(':id')(
      UsersController.prototype,
      'find',
      Object.getOwnPropertyDescriptor(UsersController.prototype, 'find') as PropertyDescriptor,
    );
    Controller('users')(UsersController);
    class AppModule {}
    Module({ controllers: [UsersController] })(AppModule);
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    cleanups.push(() => app.close());
    const port = (app.getHttpServer().address() as net.AddressInfo).port;
    const replies = await sendAll(port, ['/users/ann', '/users/bob', '/users/cy']);
    expect(replies.map((r) => r.body)).toEqual(['user ann', 'user bob', 'user cy']);
    await sendAll(port, ['/nope', '/nope/again']);
    await settled();
    expect(instances('http.server.requests')).toEqual(
      new Map([
        ['GET:/users/:id:200', 3],
        ['GET:_unmatched:404', 2],
      ]),
    );
  });
});
