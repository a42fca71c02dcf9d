// The HTTP client instrumentation against real local servers: http.get, http.request, https
// and fetch counted by METHOD:host:status_class, timed to the end of the body, failures by kind,
// and the app's requests behaving exactly as they do without the agent.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_KINDS, httpClientInstrumentation } from '../agent/instrument/http-client';
import type { AgentConfig, Instrumentation } from '../agent/types';
import { readMmvFile } from '../src/index';
import { makeTestAgent, type TestAgent } from './support/agent';
import { selfSignedCert } from './support/tls';

const ROOT = resolve(__dirname, '..');
const N = 3;
const SLOW_MS = 150;
const originals = {
  httpRequest: http.request,
  httpGet: http.get,
  httpsRequest: https.request,
  httpsGet: https.get,
};

/** /status?code=N answers N; /slow sends headers, waits, then ends; /reset, /cut, /hang fail. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/status':
      res.statusCode = Number(url.searchParams.get('code'));
      res.end('body');
      return;
    case '/slow':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      setTimeout(() => res.end('last'), SLOW_MS);
      return;
    case '/redirect':
      res.writeHead(302, { location: '/status?code=200' });
      res.end();
      return;
    case '/reset':
      req.socket.destroy();
      return;
    case '/cut':
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part of it');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    case '/hang':
      return;
    default:
      res.end('ok');
  }
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  const port = await listen(s);
  await close(s);
  return port;
}

interface Outcome {
  status?: number;
  error?: NodeJS.ErrnoException;
}

/** Sends a request the way an app does: reads the response, handles 'error', waits for 'close'. */
function exchange(req: http.ClientRequest, body?: string): Promise<Outcome> {
  return new Promise((done) => {
    const out: Outcome = {};
    req.on('response', (res) => {
      out.status = res.statusCode;
      res.resume();
    });
    req.on('error', (err) => {
      out.error = err;
    });
    req.on('close', () => done(out));
    if (!req.writableEnded) req.end(body);
  });
}

async function fetchText(url: string, init?: RequestInit): Promise<Outcome> {
  try {
    const res = await fetch(url, init);
    await res.text();
    return { status: res.status };
  } catch (err) {
    return { error: err as NodeJS.ErrnoException };
  }
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The non-zero values of a metric, by instance. */
function nonZero(agent: TestAgent, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [inst, v] of agent.values().get(metric) ?? [])
    if (Number(v) !== 0) out[inst] = Number(v);
  return out;
}

function errorCounts(agent: TestAgent): Record<string, number> {
  return nonZero(agent, 'http.client.errors');
}

let server: http.Server;
let port: number;
let host: string;
let base: string;
let agent: TestAgent;
let inst: Instrumentation;

function start(config: Partial<AgentConfig> = {}): void {
  agent = makeTestAgent(config);
  inst = httpClientInstrumentation();
  inst.enable(agent);
}

function stop(): void {
  inst.disable();
  agent.close();
}

beforeAll(async () => {
  server = http.createServer(handler);
  port = await listen(server);
  host = `127.0.0.1:${port}`;
  base = `http://${host}`;
});

afterAll(async () => {
  await close(server);
});

beforeEach(() => start());

afterEach(() => {
  // Every request a test made has ended.
  expect(nonZero(agent, 'http.client.in_flight')).toEqual({});
  expect(agent.faults).toEqual([]);
  stop();
});

describe('counting requests', () => {
  it('counts http.get, http.request and fetch by method, host and status class', async () => {
    for (let i = 0; i < N; i++) {
      expect((await exchange(http.get(`${base}/status?code=200`))).status).toBe(200);
      const post = http.request(`${base}/status?code=404`, { method: 'POST' });
      expect((await exchange(post, 'a body')).status).toBe(404);
      expect((await fetchText(`${base}/status?code=503`)).status).toBe(503);
    }
    const expected = {
      [`GET:${host}:2xx`]: N,
      [`POST:${host}:4xx`]: N,
      [`GET:${host}:5xx`]: N,
    };
    expect(nonZero(agent, 'http.client.requests')).toEqual(expected);
    expect(nonZero(agent, 'http.client.duration.count')).toEqual(expected);
    expect(nonZero(agent, 'http.client.duration.bucket.le_inf')).toEqual(expected);
    expect(errorCounts(agent)).toEqual({});
  });

  it('counts fetch with other methods, and its redirect hops one by one', async () => {
    expect((await fetchText(`${base}/status?code=201`, { method: 'PUT', body: 'x' })).status).toBe(
      201,
    );
    expect((await fetchText(`${base}/status?code=204`, { method: 'delete' })).status).toBe(204);
    expect((await fetchText(`${base}/redirect`)).status).toBe(200);
    expect(nonZero(agent, 'http.client.requests')).toEqual({
      [`PUT:${host}:2xx`]: 1,
      [`DELETE:${host}:2xx`]: 1,
      [`GET:${host}:3xx`]: 1,
      [`GET:${host}:2xx`]: 1,
    });
  });

  it('counts http.get once, also when the app destructures it from require after the agent', async () => {
    const { get, request } = createRequire(__filename)('node:http') as typeof http;
    expect(get).toBe(http.get);
    await exchange(get(`${base}/status?code=200`));
    await exchange(request(`${base}/status?code=200`));
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${host}:2xx`]: 2 });
  });

  it('counts a response nobody listens for, which Node still dumps', async () => {
    const req = http.request(`${base}/status?code=200`);
    await new Promise((done) => req.on('close', done).end());
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${host}:2xx`]: 1 });
  });

  it('names the host the request connects to, with its port, whatever the Host header says', async () => {
    const req = http.get({
      host: '127.0.0.1',
      port,
      path: '/status?code=200',
      headers: { host: 'virtual.example' },
    });
    await exchange(req);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${host}:2xx`]: 1 });
  });

  it('labels each target with its method, host and status class', async () => {
    await exchange(http.get(`${base}/status?code=302`));
    agent.registry.flush();
    const file = readMmvFile(agent.registry.path);
    const value = file.values.find(
      (v) => v.metric === 'http.client.requests' && v.instance === `GET:${host}:3xx`,
    );
    const indom = file.metrics.find((m) => m.name === 'http.client.requests')?.indom;
    const labels = file.labels
      .filter(
        (l) => l.kind === 'instances' && l.identity === indom && l.instance === value?.instanceId,
      )
      .map((l) => l.parsed);
    expect(Object.assign({}, ...labels)).toEqual({ method: 'GET', host, status_class: '3xx' });
  });

  it('folds hosts past maxHosts into _overflow, keeping method and status class', async () => {
    stop();
    start({ maxHosts: 1 });
    const other = await closedPort();
    let third = await closedPort();
    while (third === other) third = await closedPort();
    await exchange(http.get(`${base}/status?code=200`));
    await exchange(http.get(`http://127.0.0.1:${other}/`));
    await exchange(http.get(`http://127.0.0.1:${other}/`));
    await exchange(http.get(`http://127.0.0.1:${third}/`));
    expect(nonZero(agent, 'http.client.requests')).toEqual({
      [`GET:${host}:2xx`]: 1,
      'GET:_overflow:error': 3,
    });
    expect([...(agent.values().get('http.client.in_flight')?.keys() ?? [])].sort()).toEqual(
      [host, '_overflow'].sort(),
    );
    // Two hosts dropped, each once however many of its requests.
    expect(Number(agent.value('pcp_agent.instances.overflowed'))).toBe(2);
  });
});

describe('duration and in-flight', () => {
  it('times an http request to the end of its body, not its headers', async () => {
    let inFlightAtHeaders: unknown;
    const req = http.get(`${base}/slow`, () => {
      inFlightAtHeaders = agent.value('http.client.in_flight', host);
    });
    await exchange(req);
    expect(inFlightAtHeaders).toBe(1);
    // The server's timer is at least SLOW_MS on libuv's millisecond clock: allow 1 ms of rounding.
    expect(agent.value('http.client.duration.sum', `GET:${host}:2xx`)).toBeGreaterThanOrEqual(
      SLOW_MS - 1,
    );
  });

  it('times a fetch to the end of its body, not its headers', async () => {
    const res = await fetch(`${base}/slow`);
    expect(agent.value('http.client.in_flight', host)).toBe(1);
    await res.text();
    await until(
      'the fetch to end',
      () => agent.value('http.client.requests', `GET:${host}:2xx`) === 1n,
    );
    expect(agent.value('http.client.duration.sum', `GET:${host}:2xx`)).toBeGreaterThanOrEqual(
      SLOW_MS - 1,
    );
  });
});

describe('failures', () => {
  it('counts a refused connection as a connect error, status class error', async () => {
    const p = await closedPort();
    expect((await exchange(http.get(`http://127.0.0.1:${p}/`))).error?.code).toBe('ECONNREFUSED');
    expect((await fetchText(`http://127.0.0.1:${p}/`)).error).toBeInstanceOf(TypeError);
    await until('fetch to fail', () => agent.value('http.client.errors', 'connect') === 2n);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:127.0.0.1:${p}:error`]: 2 });
    expect(errorCounts(agent)).toEqual({ connect: 2 });
  });

  it('counts an unknown host as a dns error, without the default port', async () => {
    expect((await exchange(http.get('http://nohost.invalid/'))).error?.code).toMatch(
      /ENOTFOUND|EAI_AGAIN/,
    );
    await fetchText('http://nohost.invalid:80/');
    await until('fetch to fail', () => agent.value('http.client.errors', 'dns') === 2n);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ 'GET:nohost.invalid:error': 2 });
    expect(errorCounts(agent)).toEqual({ dns: 2 });
  }, 15_000);

  it('counts a connection the server destroys as a reset', async () => {
    expect((await exchange(http.get(`${base}/reset`))).error?.code).toBe('ECONNRESET');
    await fetchText(`${base}/reset`);
    await until('fetch to fail', () => agent.value('http.client.errors', 'reset') === 2n);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${host}:error`]: 2 });
    expect(errorCounts(agent)).toEqual({ reset: 2 });
  });

  it('counts a body cut short under the status it had, and the reset', async () => {
    await exchange(http.get(`${base}/cut`));
    await fetchText(`${base}/cut`);
    await until('fetch to fail', () => agent.value('http.client.errors', 'reset') === 2n);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${host}:2xx`]: 2 });
    expect(errorCounts(agent)).toEqual({ reset: 2 });
  });

  it('counts a timeout that destroys the request as a timeout', async () => {
    const req = http.get(`${base}/hang`);
    req.setTimeout(50, () => req.destroy());
    expect((await exchange(req)).error?.code).toBe('ECONNRESET');
    expect((await fetchText(`${base}/hang`, { signal: AbortSignal.timeout(50) })).error?.name).toBe(
      'TimeoutError',
    );
    await until('fetch to fail', () => agent.value('http.client.errors', 'timeout') === 2n);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${host}:error`]: 2 });
    expect(errorCounts(agent)).toEqual({ timeout: 2 });
  });

  it('counts a request the app aborts as aborted', async () => {
    const a = new AbortController();
    const req = http.get(`${base}/hang`, { signal: a.signal });
    setTimeout(() => a.abort(), 20);
    expect((await exchange(req)).error?.name).toBe('AbortError');
    const b = new AbortController();
    setTimeout(() => b.abort(), 20);
    expect((await fetchText(`${base}/hang`, { signal: b.signal })).error?.name).toBe('AbortError');
    await until('fetch to fail', () => agent.value('http.client.errors', 'aborted') === 2n);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${host}:error`]: 2 });
    expect(errorCounts(agent)).toEqual({ aborted: 2 });
  });
});

describe('https', () => {
  let tls: https.Server;
  let tlsHost: string;

  beforeAll(async () => {
    tls = https.createServer(selfSignedCert('127.0.0.1'), handler);
    tlsHost = `127.0.0.1:${await listen(tls)}`;
  });

  afterAll(async () => {
    await close(tls);
  });

  it('counts https.get and https.request to a self-signed server', async () => {
    for (let i = 0; i < N; i++) {
      const get = https.get(`https://${tlsHost}/status?code=200`, { rejectUnauthorized: false });
      expect((await exchange(get)).status).toBe(200);
      const post = https.request(`https://${tlsHost}/status?code=500`, {
        method: 'POST',
        rejectUnauthorized: false,
      });
      expect((await exchange(post, 'x')).status).toBe(500);
    }
    const expected = { [`GET:${tlsHost}:2xx`]: N, [`POST:${tlsHost}:5xx`]: N };
    expect(nonZero(agent, 'http.client.requests')).toEqual(expected);
    expect(nonZero(agent, 'http.client.duration.count')).toEqual(expected);
  });

  it('counts a certificate the client rejects as a tls error', async () => {
    expect((await exchange(https.get(`https://${tlsHost}/`))).error?.code).toMatch(/CERT/);
    await fetchText(`https://${tlsHost}/`);
    await until('fetch to fail', () => agent.value('http.client.errors', 'tls') === 2n);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${tlsHost}:error`]: 2 });
    expect(errorCounts(agent)).toEqual({ tls: 2 });
  });
});

describe("the app's requests behave as without the agent", () => {
  /** Listener counts on a request, and on its response when it arrives. */
  async function listeners(): Promise<{ req: object; res: object; flowing: unknown }> {
    const count = (e: NodeJS.EventEmitter) =>
      Object.fromEntries(e.eventNames().map((n) => [String(n), e.listenerCount(n)]));
    const req = http.get(`${base}/status?code=200`);
    const before = count(req);
    const res = await new Promise<http.IncomingMessage>((done) => req.on('response', done));
    const seen = { req: before, res: count(res), flowing: res.readableFlowing };
    res.resume();
    await new Promise((done) => req.on('close', done));
    return seen;
  }

  it('adds no listener to the request or the response, and leaves the response paused', async () => {
    const tracked = await listeners();
    inst.disable();
    const plain = await listeners();
    inst.enable(agent);
    expect(tracked).toEqual(plain);
    expect(tracked.flowing).toBe(null);
    expect(nonZero(agent, 'http.client.requests')).toEqual({ [`GET:${host}:2xx`]: 1 });
  });

  it("still throws an 'error' nobody listens for", async () => {
    const req = http.get(`${base}/hang`);
    const boom = new Error('boom');
    expect(req.listenerCount('error')).toBe(0);
    expect(() => req.emit('error', boom)).toThrow(boom);
    req.on('error', () => {});
    req.destroy();
    await new Promise((done) => req.on('close', done));
    expect(errorCounts(agent)).toEqual({ other: 1 });
  });

  it('calls the original once with the same arguments, and rethrows what it throws', () => {
    expect(() => http.request({ method: 'NOT A TOKEN' })).toThrow(/Method/);
    expect(() => https.get('not a url')).toThrow(/Invalid URL/);
    expect(nonZero(agent, 'http.client.requests')).toEqual({});
  });

  it('restores http and https on disable, and counts nothing more', async () => {
    expect(http.request).not.toBe(originals.httpRequest);
    inst.disable();
    expect(http.request).toBe(originals.httpRequest);
    expect(http.get).toBe(originals.httpGet);
    expect(https.request).toBe(originals.httpsRequest);
    expect(https.get).toBe(originals.httpsGet);
    await exchange(http.get(`${base}/status?code=200`));
    await fetchText(`${base}/status?code=200`);
    expect(nonZero(agent, 'http.client.requests')).toEqual({});
    inst.enable(agent);
  });

  it('crashes on an unhandled client error as it does without the agent (preloaded, ESM)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcp-agent-preload-'));
    try {
      // The real agent, preloaded; a second preload reads its file back at exit, before the
      // agent's own exit hook removes it.
      const reader = join(dir, 'read-at-exit.cjs');
      writeFileSync(
        reader,
        [
          `const { writeFileSync } = require('node:fs');`,
          `const { getAgent, readMmvFile } = require(${JSON.stringify(ROOT)});`,
          `process.prependListener('exit', () => {`,
          '  const r = getAgent().registry;',
          '  r.flush();',
          '  const out = {};',
          '  for (const v of readMmvFile(r.path).values) {',
          '    (out[v.metric] ??= {})[v.instance ?? ""] = String(v.value);',
          '  }',
          '  writeFileSync(process.env.OUT, JSON.stringify(out));',
          '});',
        ].join('\n'),
      );
      // An ESM app: a default import used for a good request, then a named import without an
      // 'error' listener to a closed port.
      const app = join(dir, 'app.mjs');
      writeFileSync(
        app,
        [
          `import http, { request } from 'node:http';`,
          'const server = http.createServer((q, s) => s.end()).listen(0, "127.0.0.1", () => {',
          `  http.get('http://127.0.0.1:' + server.address().port + '/', (res) => {`,
          '    res.resume();',
          `    res.on('end', () => { server.close(); request({ host: '127.0.0.1', port: Number(process.argv[2]) }).end(); });`,
          '  });',
          '});',
        ].join('\n'),
      );
      const p = await closedPort();
      const out = join(dir, 'out.json');
      const run = (...pre: string[]) =>
        spawnSync(process.execPath, [...pre, app, String(p)], {
          encoding: 'utf8',
          cwd: ROOT,
          env: {
            ...process.env,
            NODE_OPTIONS: '',
            OUT: out,
            PCP_AGENT_DIR: dir,
            PCP_AGENT_NAME: 'crash',
          },
          timeout: 20_000,
        });
      const plain = run();
      const agented = run('--require', 'pcp-agent', '--require', reader);
      for (const r of [plain, agented]) {
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("throw er; // Unhandled 'error' event");
        expect(r.stderr).toContain(`connect ECONNREFUSED 127.0.0.1:${p}`);
      }
      const values = JSON.parse(readFileSync(out, 'utf8')) as Record<
        string,
        Record<string, string>
      >;
      const requests = Object.entries(values['http.client.requests']);
      expect(requests).toHaveLength(2);
      expect(requests).toContainEqual([`GET:127.0.0.1:${p}:error`, '1']);
      expect(requests).toContainEqual([expect.stringMatching(/^GET:127\.0\.0\.1:\d+:2xx$/), '1']);
      expect(values['http.client.errors'].connect).toBe('1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('error kinds', () => {
  it('has one instance per kind, all declared up front', () => {
    expect([...(agent.values().get('http.client.errors')?.keys() ?? [])]).toEqual(ERROR_KINDS);
  });
});
