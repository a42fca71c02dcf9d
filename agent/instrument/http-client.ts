// HTTP client metrics: every http.request/get, https.request/get and (through fetch.ts) fetch,
// counted by method, host and status class, timed to the end of the response body or the failure.
//
// How http(s) is observed, and why not with diagnostics_channel: in Node 20,
// `http.client.request.start` is published from ClientRequest#_finish, i.e. only once a socket
// is assigned and the request is ended, so it never fires for a refused connection, misses the
// time spent waiting for a pooled socket; `http.client.response.finish` fires at the headers,
// and no channel tells of a 'timeout'. So the four exported functions are wrapped with shimmer (creation time and every
// request, including refused ones), and each request's own `emit` is wrapped to see 'error',
// 'timeout' and 'close' before its listeners do. That adds no listener: an 'error' listener would
// stop Node throwing an unhandled error, a 'response' listener would stop it dumping an unread
// response. http.get and https.get call their module's internal request, not the exported one,
// so each request passes through exactly one wrapper (a second is ignored anyway).

import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';
import shimmer from 'shimmer';
import {
  type Counter,
  type Gauge,
  type Histogram,
  type InstanceDomain,
  type MetricVector,
  OVERFLOW_INSTANCE,
  type Registry,
  Units,
} from '../../src/index';
import { FoldedNames } from '../http/folded';
import type { AgentConfig, AgentContext, Instrumentation } from '../types';
import { observeFetch } from './fetch';

const FAULT = 'PCP_AGENT_WARN_HTTP_CLIENT';

/** Why a request failed: the instances of `http.client.error_kinds`. */
export const ERROR_KINDS: readonly string[] = [
  'dns',
  'connect',
  'timeout',
  'reset',
  'tls',
  'aborted',
  'other',
];
const DNS = 0;
const CONNECT = 1;
const TIMEOUT = 2;
const RESET = 3;
const TLS = 4;
const ABORTED = 5;
const OTHER_KIND = 6;

/** Methods get their own instances; any other method is counted as OTHER (bounded cardinality). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'];
const OTHER_METHOD = METHODS.length;
const METHOD_NAMES = [...METHODS, 'OTHER'];
const METHOD_INDEX = new Map(METHODS.map((m, i) => [m, i]));

/** `error` is a request that got no response; `other` a status outside 100-599. */
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'error', 'other'];
const ERROR_CLASS = 5;
const OTHER_CLASS = 6;
const TARGETS_PER_HOST = METHOD_NAMES.length * STATUS_CLASSES.length;

/**
 * The cap of `http.client.targets`, per allowed host. A host could reach 10 methods x 7 classes,
 * but real clients use one to three methods and two to three classes; each target costs ~20
 * values (a count and, with the default buckets, a 19-value histogram) of the 10000 a file may
 * hold, so 4 per host keeps
 * the default 100 hosts (+ `_overflow`) within 404 targets, and lets fewer hosts use more.
 */
const AVERAGE_TARGETS_PER_HOST = 4;

/** The longest host kept in names: leaves room in a 255-byte instance name and its labels. */
const MAX_HOST_LENGTH = 160;

interface Target {
  readonly requests: Counter;
  readonly duration: Histogram;
}

/** One host: its in-flight gauge, and its targets by method and status class, made on first use. */
class HostEntry {
  readonly targets: (Target | undefined)[] = new Array(TARGETS_PER_HOST);
  constructor(
    readonly name: string,
    readonly inFlight: Gauge,
  ) {}
}

/** One request from creation to its end; `done` makes the end count once. */
export class ClientCall {
  /** Status from the response headers, or -1 (fetch only: http reads req.res at the end). */
  status = -1;
  done = false;
  timedOut = false;
  failed = false;
  error: unknown = undefined;
  /** The emit the request had before ours (http only). */
  emit: (...args: unknown[]) => boolean = EventEmitter.prototype.emit;

  constructor(
    readonly owner: ClientMetrics,
    readonly host: HostEntry,
    readonly method: number,
    readonly t0: number,
  ) {}
}

/** The metrics: turns "a request started / ended like this" into counts, durations, gauges. */
export class ClientMetrics {
  ctx: AgentContext;
  private readonly targets: InstanceDomain;
  private readonly requests: MetricVector<Counter>;
  private readonly duration: MetricVector<Histogram>;
  private readonly inFlight: MetricVector<Gauge>;
  private readonly errors: Counter[];
  private readonly maxHosts: number;
  private readonly byName = new Map<string, HostEntry>();
  /** Hosts as the request spelled them; bounded, so overflowed hosts are looked up each time. */
  private readonly byRaw = new Map<string, HostEntry>();
  private overflow: HostEntry | null = null;
  /** Hosts past maxHosts, each counted once in pcp_agent.instances.overflowed. */
  private readonly folded = new FoldedNames();

  constructor(ctx: AgentContext) {
    this.ctx = ctx;
    const registry = ctx.registry;
    const config: AgentConfig = ctx.config;
    this.maxHosts = Math.max(1, Math.floor(config.maxHosts) || 1);
    this.targets = registry.instanceDomain('http.client.targets', {
      help: 'HTTP client requests by METHOD:host:status_class',
      longHelp:
        'host has the port when not the default; status_class is 1xx-5xx, error (no response) or other. Hosts past maxHosts are _overflow.',
      maxInstances: (this.maxHosts + 1) * AVERAGE_TARGETS_PER_HOST,
    });
    const hosts = registry.instanceDomain('http.client.hosts', {
      help: 'Hosts HTTP client requests are sent to (host[:port])',
      maxInstances: this.maxHosts,
    });
    const kinds = registry.instanceDomain('http.client.error_kinds', {
      help: 'Why HTTP client requests failed',
      instances: ERROR_KINDS.map((kind) => ({ name: kind, labels: { kind } })),
    });
    this.requests = registry.counter('http.client.requests', {
      indom: this.targets,
      help: 'HTTP client requests ended (response body read, or failed)',
    });
    this.duration = registry.histogram('http.client.duration', {
      indom: this.targets,
      units: Units.time('msec'),
      buckets: config.durationBuckets,
      window: config.window,
      help: 'HTTP client request time, from the call to the end of the response body or the failure',
    });
    this.inFlight = registry.gauge('http.client.in_flight', {
      indom: hosts,
      units: Units.count(),
      help: 'HTTP client requests started and not yet ended',
    });
    const errors = registry.counter('http.client.errors', {
      indom: kinds,
      help: 'HTTP client requests that failed (no response, or the body cut short), by kind',
    });
    this.errors = ERROR_KINDS.map((kind) => errors.instance(kind));
  }

  /** A request was made: it is in flight from t0 (performance.now()). */
  begin(rawHost: string, method: unknown, t0: number): ClientCall {
    const host = this.byRaw.get(rawHost) ?? this.resolveHost(rawHost);
    host.inFlight.inc();
    return new ClientCall(this, host, methodIndex(method), t0);
  }

  /** The response was read to its end. */
  succeed(call: ClientCall, status: number): void {
    this.end(call, status, -1);
  }

  /** The request failed: no response (status -1), or the response was cut short. */
  fail(call: ClientCall, status: number, err: unknown, aborted = false): void {
    this.end(call, status, errorKind(err, call.timedOut, aborted));
  }

  fault(what: string, err?: unknown): void {
    this.ctx.fault(FAULT, what, err);
  }

  private end(call: ClientCall, status: number, kind: number): void {
    if (call.done) return;
    call.done = true;
    const ms = performance.now() - call.t0;
    const host = call.host;
    host.inFlight.dec();
    const c = status < 0 ? ERROR_CLASS : statusClass(status);
    const t = host.targets[call.method * STATUS_CLASSES.length + c] ?? this.target(host, call, c);
    t.requests.inc();
    t.duration.record(Math.max(ms, 0));
    if (kind >= 0) this.errors[kind].inc();
  }

  private target(host: HostEntry, call: ClientCall, c: number): Target {
    const method = METHOD_NAMES[call.method];
    const cls = STATUS_CLASSES[c];
    const name = `${method}:${host.name}:${cls}`;
    const requests = this.requests.instance(name, { method, host: host.name, status_class: cls });
    // Past the cap the name folded into _overflow: ask for that by name, so it is counted once.
    const duration = this.duration.instance(
      this.targets.indexOf(name) < 0 ? OVERFLOW_INSTANCE : name,
    );
    const t = { requests, duration };
    host.targets[call.method * STATUS_CLASSES.length + c] = t;
    return t;
  }

  private resolveHost(raw: string): HostEntry {
    const name = hostName(raw);
    let entry = this.byName.get(name);
    if (entry === undefined) {
      if (this.byName.size >= this.maxHosts) return this.overflowHost(name);
      entry = new HostEntry(name, this.inFlight.instance(name, { host: name }));
      this.byName.set(name, entry);
    }
    if (this.byRaw.size < this.maxHosts * 4) this.byRaw.set(raw, entry);
    return entry;
  }

  private overflowHost(name: string): HostEntry {
    if (this.folded.add(name)) this.ctx.registry.countOverflowed();
    if (this.overflow === null) {
      this.overflow = new HostEntry(OVERFLOW_INSTANCE, this.inFlight.instance(OVERFLOW_INSTANCE));
    }
    return this.overflow;
  }
}

function methodIndex(method: unknown): number {
  if (typeof method !== 'string') return 0; // Node's default
  return METHOD_INDEX.get(method) ?? METHOD_INDEX.get(method.toUpperCase()) ?? OTHER_METHOD;
}

function statusClass(status: number): number {
  return status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : OTHER_CLASS;
}

/** A host as an instance name: lower case, no spaces or odd characters, bounded length. */
function hostName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9._:\-[\]%]/g, '_')
    .slice(0, MAX_HOST_LENGTH);
  return name === '' ? 'unknown' : name;
}

/** The kind of a failure: the error's code (or its cause's), unless a timeout or abort came first. */
export function errorKind(err: unknown, timedOut = false, aborted = false): number {
  if (timedOut) return TIMEOUT;
  if (aborted || err === undefined || err === null) return ABORTED; // the app gave up
  let e: unknown = err;
  for (let depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const k = kindOf(e as { name?: unknown; code?: unknown });
    if (k >= 0) return k;
    e = (e as { cause?: unknown }).cause;
  }
  return OTHER_KIND;
}

function kindOf(e: { name?: unknown; code?: unknown }): number {
  const code = e.code;
  if (e.name === 'AbortError' || code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') return ABORTED;
  if (e.name === 'TimeoutError') return TIMEOUT;
  if (typeof code !== 'string') return -1;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
    case 'ENODATA':
    case 'ESERVFAIL':
    case 'ETIMEOUT': // c-ares: the DNS query timed out
      return DNS;
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
      return CONNECT;
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      return TIMEOUT;
    case 'ECONNRESET': // also "socket hang up"
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return RESET;
    case 'EPROTO': // a TLS handshake on a plain socket, or a protocol mismatch
      return TLS;
  }
  if (code.startsWith('UND_ERR_') && code.endsWith('_TIMEOUT')) return TIMEOUT;
  if (/CERT|SSL|TLS/.test(code)) return TLS;
  return -1;
}

// ---- http and https ---------------------------------------------------------------------

const kCall: unique symbol = Symbol('pcp-agent.httpClient.call');

/** The parts of a ClientRequest read here that @types/node does not declare. */
interface TrackedRequest extends http.ClientRequest {
  res?: http.IncomingMessage | null;
  upgradeOrConnect?: boolean;
  agent?: unknown;
  [kCall]?: ClientCall;
}

/** Replaces a tracked request's emit: notes the events that end it, then emits as before. */
function trackedEmit(this: TrackedRequest, ...args: unknown[]): boolean {
  const call = this[kCall];
  if (call === undefined) return Reflect.apply(EventEmitter.prototype.emit, this, args);
  const event = args[0];
  if (!call.done && (event === 'close' || event === 'error' || event === 'timeout')) {
    // Before the listeners: an unhandled 'error' throws from the original emit.
    observe(call, this, event, args[1]);
  }
  return Reflect.apply(call.emit, this, args);
}

function observe(call: ClientCall, req: TrackedRequest, event: string, arg: unknown): void {
  try {
    if (event === 'timeout') {
      call.timedOut = true;
    } else if (event === 'error') {
      if (!call.failed) {
        call.failed = true;
        call.error = arg;
      }
      // Before a response this is the end (no 'close' follows some errors); after it, 'close' is.
      if (!req.res) call.owner.fail(call, -1, arg, req.aborted);
    } else {
      const res = req.res;
      if (!res) {
        // Ended without a response and without an error: aborted by the app.
        call.owner.fail(call, -1, call.failed ? call.error : null, req.aborted);
      } else if ((res.complete || req.upgradeOrConnect === true) && !call.failed) {
        call.owner.succeed(call, res.statusCode ?? 0);
      } else {
        // The body was cut short: the server's status, and why it failed.
        call.owner.fail(
          call,
          res.statusCode ?? 0,
          call.failed ? call.error : res.errored,
          req.aborted,
        );
      }
    }
  } catch (err) {
    call.owner.fault('recording an HTTP client request failed', err);
  }
}

/** The host as `host[:port]`, the port only when not the default: Node's own Host header. */
function requestHost(req: TrackedRequest, args: readonly unknown[]): string {
  let host = typeof req.host === 'string' && req.host !== '' ? req.host : 'localhost';
  if (host.includes(':') && host.charCodeAt(0) !== 91 /* [ */) host = `[${host}]`;
  const header = req.getHeader('host');
  if (
    typeof header === 'string' &&
    header.startsWith(host) &&
    (header.length === host.length || header.charCodeAt(host.length) === 58) /* : */
  ) {
    return header;
  }
  // The app set its own Host header (or none): the port is in the arguments.
  const port = requestPort(req, args);
  return port === '' ? host : `${host}:${port}`;
}

/** The port http.request would connect to, or '' when it is the default for the protocol. */
function requestPort(req: TrackedRequest, args: readonly unknown[]): string {
  let port: unknown;
  let options: unknown = args[0];
  if (typeof options === 'string') {
    port = URL.canParse(options) ? new URL(options).port : '';
    options = args[1];
  } else if (options instanceof URL) {
    port = options.port;
    options = args[1];
  }
  let defaultPort: unknown;
  if (typeof options === 'object' && options !== null) {
    const o = options as { port?: unknown; defaultPort?: unknown };
    if (o.port) port = o.port;
    defaultPort = o.defaultPort;
  }
  defaultPort ||=
    (req.agent as { defaultPort?: unknown } | null | undefined)?.defaultPort ||
    (req.protocol === 'https:' ? 443 : 80);
  return port && Number(port) !== Number(defaultPort) ? String(port) : '';
}

/** Set while instrumentation is on; a wrapper that cannot be removed then passes through. */
interface Live {
  metrics: ClientMetrics | null;
}

function track(live: Live, req: unknown, args: readonly unknown[], t0: number): void {
  const metrics = live.metrics;
  if (metrics === null || typeof req !== 'object' || req === null) return;
  const r = req as TrackedRequest;
  if (r[kCall] !== undefined) return; // already seen: counted once
  try {
    const call = metrics.begin(requestHost(r, args), r.method, t0);
    call.emit = r.emit as ClientCall['emit'];
    r[kCall] = call;
    r.emit = trackedEmit as http.ClientRequest['emit'];
  } catch (err) {
    metrics.fault('tracking an HTTP client request failed', err);
  }
}

type RequestFn = (...args: unknown[]) => http.ClientRequest;

function wrapper(live: Live) {
  return (original: RequestFn): RequestFn =>
    function (this: unknown, ...args: unknown[]): http.ClientRequest {
      const t0 = performance.now();
      // The original, exactly once, with the same this and arguments; its throw is the app's.
      const req: http.ClientRequest = Reflect.apply(original, this, args);
      track(live, req, args, t0);
      return req;
    };
}

interface Patched {
  readonly module: object;
  readonly name: string;
  readonly wrapped: { __unwrap?: () => void };
}

function patch(live: Live): Patched[] {
  const done: Patched[] = [];
  for (const module of [http, https]) {
    for (const name of ['request', 'get'] as const) {
      const wrapped: unknown = shimmer.wrap(module, name, wrapper(live) as never);
      if (typeof wrapped === 'function')
        done.push({ module, name, wrapped: wrapped as Patched['wrapped'] });
    }
  }
  // ESM named imports (`import { request } from 'node:http'`) follow the patched exports.
  syncBuiltinESMExports();
  return done;
}

function unpatch(patched: Patched[]): void {
  // Restores each only if it is still ours; a wrapper someone put over ours keeps passing through.
  for (const p of patched) p.wrapped.__unwrap?.();
  syncBuiltinESMExports();
}

// ---- the instrumentation ----------------------------------------------------------------

/** Across copies of the agent in one process: only one may count, or requests count twice. */
const kActive = Symbol.for('pcp-agent.httpClient.active');
type Global = typeof globalThis & { [kActive]?: boolean };

/** Declared once per registry: enable after disable reuses the metrics. */
const declared = new WeakMap<Registry, ClientMetrics>();

export function httpClientInstrumentation(): Instrumentation {
  let live: Live | null = null;
  let patched: Patched[] = [];
  let stopFetch: (() => void) | null = null;

  const stop = (): void => {
    if (live) live.metrics = null;
    live = null;
    unpatch(patched);
    patched = [];
    stopFetch?.();
    stopFetch = null;
    (globalThis as Global)[kActive] = false;
  };

  return {
    name: 'httpClient',
    enable(ctx: AgentContext): void {
      if (live !== null) return;
      if ((globalThis as Global)[kActive]) {
        ctx.fault(
          FAULT,
          'HTTP client instrumentation is already on in this process (two copies of pcp-agent?); this one stays off',
        );
        return;
      }
      try {
        let metrics = declared.get(ctx.registry);
        if (metrics === undefined) {
          metrics = new ClientMetrics(ctx);
          declared.set(ctx.registry, metrics);
        }
        metrics.ctx = ctx;
        (globalThis as Global)[kActive] = true;
        live = { metrics };
        patched = patch(live);
        stopFetch = observeFetch(metrics);
      } catch (err) {
        stop();
        ctx.fault(FAULT, 'HTTP client instrumentation could not start', err);
      }
    },
    disable(): void {
      const metrics = live?.metrics;
      if (!metrics) return;
      try {
        stop();
      } catch (err) {
        metrics.fault('HTTP client instrumentation could not stop cleanly', err);
      }
    },
  };
}
