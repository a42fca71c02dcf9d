// HTTP(S) server metrics: requests, errors, aborts, duration and bytes per METHOD:route:status
// and requests in flight, observed by wrapping the servers' 'request' emit; http/route.ts names the route.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import shimmer from 'shimmer';
import { warnOnce } from '../../src/errors';
import {
  type Counter,
  type Gauge,
  type Histogram,
  type InstanceDomain,
  type MetricVector,
  OVERFLOW_INSTANCE,
  type RawMetric,
  Units,
} from '../../src/index';
import { newRequestState } from '../context';
import { FoldedNames } from '../http/folded';
import {
  findFrameworks,
  namedRoute,
  normalizePath,
  startRouteTagging,
  stopRouteTagging,
} from '../http/route';
import type { AgentContext, Instrumentation, RequestState } from '../types';

const CODE = 'PCP_AGENT_WARN_HTTP_SERVER';

/**
 * The status in the instance of a request whose client closed the connection before the
 * response finished (nginx's convention): whatever status the app had set was never delivered
 * whole, and one status for "gone" keeps these apart from the responses that were.
 */
export const ABORTED_STATUS = 499;

/**
 * Instances per route allowed in `http.server.routes`. maxRoutes caps distinct routes (past it,
 * a new route's requests go to `_overflow`); each route has one instance per method and status
 * it has answered with, mostly one to three (200, 304, 404). The domain's cap is this many per
 * route, so a route answering with many statuses cannot take the room of the others forever,
 * and the file stays bounded: each instance holds about two dozen values (the duration
 * histogram's buckets), and a file holds 10000.
 */
const INSTANCES_PER_ROUTE = 3;

/** Durations an instance queues before recording them in its histogram (512 bytes each). */
const QUEUED_DURATIONS = 64;

/** URLs remembered with their route's handles; past this many, all are forgotten. */
const CACHED_URLS = 1000;
/** Longer URLs (long query strings) are normalized each time rather than remembered. */
const CACHED_URL_LENGTH = 256;

/** The request being observed, on its ServerResponse. */
const PENDING = Symbol('pcp-agent.http.pending');
/** Socket byte counts at the end of the socket's previous request. */
const READ_MARK = Symbol('pcp-agent.http.bytesRead');
const WRITTEN_MARK = Symbol('pcp-agent.http.bytesWritten');
/** On a server once its first connection has looked for frameworks. */
const SEEN = Symbol('pcp-agent.http.seen');

interface Observed {
  [PENDING]?: Pending;
}
interface Marked {
  [READ_MARK]?: number;
  [WRITTEN_MARK]?: number;
}
interface Seen {
  [SEEN]?: boolean;
}
/** A socket's libuv stream handle (TCP, or TLS over it): its byte counters. */
interface StreamHandle {
  bytesRead?: unknown;
  bytesWritten?: unknown;
}

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

/** The instance the patched emit reports to; null while disabled. */
let active: ServerMetrics | null = null;

/** One request from its 'request' event to its response's 'close'. */
class Pending {
  declare readonly metrics: ServerMetrics;
  declare readonly start: number;
  /** req.url as the server received it, before any framework rewrites it for a mount. */
  declare readonly url: string;
  declare readonly socket: Socket | null;
  declare readonly state: RequestState | undefined;
  declare threw: boolean;

  constructor(
    metrics: ServerMetrics,
    start: number,
    url: string,
    socket: Socket | null,
    state: RequestState | undefined,
  ) {
    this.metrics = metrics;
    this.start = start;
    this.url = url;
    this.socket = socket;
    this.state = state;
    this.threw = false;
  }
}

/**
 * The handles of one METHOD:route:status instance, looked up once, and what its requests
 * added since the last flush: counted here, on the object each request finds anyway, and
 * added to the metrics before each flush (fold()). A route's instances are a chain, the first
 * one the route's entry in the maps: what a request reads is on these objects, first fields
 * first, where an array of them was two objects more to reach.
 */
class RouteHandles {
  declare readonly method: string;
  declare readonly status: number;
  /** The route's next instance. */
  declare next: RouteHandles | null;
  /** Requests, and bytes read and written, since the last fold. */
  declare requestsSince: number;
  declare readSince: number;
  declare writtenSince: number;
  /** Durations (ms) not yet recorded in `duration`, oldest first, and how many. */
  declare readonly durations: Float64Array;
  declare queued: number;
  declare readonly requests: Counter;
  declare readonly duration: Histogram;
  declare readonly requestBytes: Counter;
  declare readonly responseBytes: Counter;
  declare readonly errors: Counter;
  declare readonly aborted: Counter;
  declare readonly timerTime: RawMetric | null;
  declare readonly methodTime: RawMetric | null;
  declare readonly route: string;

  constructor(
    route: string,
    method: string,
    status: number,
    requests: Counter,
    duration: Histogram,
    requestBytes: Counter,
    responseBytes: Counter,
    errors: Counter,
    aborted: Counter,
    timerTime: RawMetric | null,
    methodTime: RawMetric | null,
  ) {
    this.method = method;
    this.status = status;
    this.next = null;
    this.requestsSince = 0;
    this.readSince = 0;
    this.writtenSince = 0;
    this.durations = new Float64Array(QUEUED_DURATIONS);
    this.queued = 0;
    this.requests = requests;
    this.duration = duration;
    this.requestBytes = requestBytes;
    this.responseBytes = responseBytes;
    this.errors = errors;
    this.aborted = aborted;
    this.timerTime = timerTime;
    this.methodTime = methodTime;
    this.route = route;
  }
}

/** The instance of `method` and `status` in a route's chain, if it has one. */
function find(first: RouteHandles, method: string, status: number): RouteHandles | undefined {
  for (let h: RouteHandles | null = first; h !== null; h = h.next) {
    if (h.status === status && h.method === method) return h;
  }
  return undefined;
}

/** The metrics, and turning a finished request into updates of them. */
class ServerMetrics {
  private readonly indom: InstanceDomain;
  private readonly requests: MetricVector<Counter>;
  private readonly duration: MetricVector<Histogram>;
  private readonly requestBytes: MetricVector<Counter>;
  private readonly responseBytes: MetricVector<Counter>;
  private readonly timerTime: MetricVector<RawMetric> | null = null;
  private readonly methodTime: MetricVector<RawMetric> | null = null;
  private readonly errors: MetricVector<Counter>;
  private readonly aborted: MetricVector<Counter>;
  private readonly inFlight: Gauge;
  private readonly context: boolean;
  private readonly maxRoutes: number;
  /** route → the first of its instances' handles. */
  private readonly routes = new Map<string, RouteHandles>();
  /**
   * A request URL seen (no framework route, not a 404) → its route's first handles, or
   * `_overflow`'s: one lookup by the URL, where its normalized path and then the route were
   * two, each a hash table and an entry to reach. A URL with an ID in it misses once and is
   * forgotten when the cache fills and is cleared.
   */
  private readonly byUrl = new Map<string, RouteHandles>();
  private overflow: RouteHandles | undefined;
  /** Requests begun and ended: http.server.in_flight is their difference, set at each fold. */
  private begun = 0;
  private ended = 0;
  /** Routes past maxRoutes, each counted once in pcp_agent.instances.overflowed. */
  private readonly folded = new FoldedNames();
  private warnedRoutes = false;

  constructor(private readonly ctx: AgentContext) {
    const { registry, config } = ctx;
    this.context = ctx.requests.enabled;
    this.maxRoutes = config.maxRoutes;
    const indom = registry.instanceDomain('http.server.routes', {
      help: 'Server requests by METHOD:route:status (499: the client closed first)',
      maxInstances: config.maxRoutes * INSTANCES_PER_ROUTE,
    });
    this.indom = indom;
    this.requests = registry.counter('http.server.requests', {
      indom,
      help: 'HTTP(S) server requests answered, by METHOD:route:status',
    });
    this.duration = registry.histogram('http.server.duration', {
      indom,
      units: Units.time('msec'),
      buckets: config.durationBuckets,
      window: config.window,
      help: 'HTTP(S) server request time, from the request head to the response end',
    });
    this.requestBytes = registry.counter('http.server.request_bytes', {
      indom,
      units: Units.space('byte'),
      help: 'Bytes read on the connection for the request: head, body, chunk framing',
    });
    this.responseBytes = registry.counter('http.server.response_bytes', {
      indom,
      units: Units.space('byte'),
      help: 'Bytes written on the connection for the response: head, body, chunk framing',
    });
    if (this.context) {
      this.timerTime = registry.metric('http.server.timers.time', {
        indom,
        type: 'double',
        semantics: 'counter',
        units: Units.time('msec'),
        help: 'Time in timer callbacks run on behalf of the requests',
      });
      this.methodTime = registry.metric('http.server.methods.time', {
        indom,
        type: 'double',
        semantics: 'counter',
        units: Units.time('msec'),
        help: 'Time in decorated methods run on behalf of the requests',
      });
    }
    // Errors and aborts are totals: by route and status they are already the 5xx and 499
    // instances of http.server.requests, and a copy over the domain would be two more values
    // per instance (mostly 0) in a file that holds 10000.
    this.errors = registry.counter('http.server.errors', {
      indom,
      help: 'HTTP(S) server requests answered with status >= 500, or whose listener threw',
    });
    this.aborted = registry.counter('http.server.aborted', {
      indom,
      help: 'HTTP(S) server requests closed before the response finished (status 499)',
    });
    // One total: the route is known only at the end, so a request in flight has no instance
    // of the routes domain to be in; a domain of methods would cost a lookup per request for a
    // split nobody alerts on (and read oddly beside http.server.methods.time, which is about
    // decorated methods).
    this.inFlight = registry.gauge('http.server.in_flight', {
      units: Units.count(),
      help: 'HTTP(S) server requests started and not yet finished or closed',
    });
  }

  /** Starts observing a request; undefined if it is not one to observe. Never throws. */
  begin(req: unknown, res: unknown): Pending | undefined {
    try {
      if (typeof res !== 'object' || res === null || typeof req !== 'object' || req === null) {
        return undefined;
      }
      // Emitted again for the same response (a server handing requests to another): once.
      if ((res as Observed)[PENDING] !== undefined) return undefined;
      const q = req as IncomingMessage;
      const p = new Pending(
        this,
        performance.now(),
        typeof q.url === 'string' ? q.url : '/',
        q.socket ?? null,
        this.context ? newRequestState() : undefined,
      );
      (res as Observed)[PENDING] = p;
      (res as ServerResponse).on('close', onResponseClose);
      this.begun++;
      return p;
    } catch (err) {
      this.fault('observing the start of a request failed', err);
      return undefined;
    }
  }

  /**
   * A server's first connection: the app has loaded its framework by now, so look for those
   * that need a patch (Koa). Once per server, not at every request. Never throws.
   */
  connected(server: unknown): void {
    try {
      if (typeof server !== 'object' || server === null || (server as Seen)[SEEN] === true) return;
      (server as Seen)[SEEN] = true;
      findFrameworks();
    } catch (err) {
      this.fault('looking for frameworks failed', err);
    }
  }

  /** Runs the listeners with the request's state current (context on). */
  runInContext(p: Pending, original: Emit, server: unknown, args: Parameters<Emit>): boolean {
    return this.ctx.requests.run(p.state as RequestState, () => {
      try {
        return original.apply(server, args);
      } catch (err) {
        this.listenerThrew(p);
        throw err;
      }
    });
  }

  /**
   * A listener threw synchronously: an error whatever the response becomes, counted when the
   * response ends (its route and status are known only then).
   */
  listenerThrew(p: Pending): void {
    p.threw = true;
  }

  /** The response closed, finished or not: records the request. Never throws. */
  end(res: ServerResponse, p: Pending): void {
    try {
      this.ended++;
      const ms = performance.now() - p.start;
      const req = res.req;
      // Finished: every byte handed to the connection. Otherwise the connection closed first.
      const finished = res.writableFinished;
      const status = finished ? res.statusCode | 0 : ABORTED_STATUS;
      const method = typeof req.method === 'string' ? req.method : 'GET';
      // The route of routeOf (http/route.ts), the URL's found by the URL.
      const route = namedRoute(req, status);
      const h =
        route !== undefined
          ? this.handles(method, route, status)
          : this.handlesOfUrl(method, p.url, status);
      h.requestsSince++;
      const n = h.queued;
      h.durations[n] = Math.max(ms, 0);
      h.queued = n + 1;
      if (n + 1 === QUEUED_DURATIONS) recordDurations(h);
      const socket = p.socket;
      if (socket !== null) this.countBytes(socket as Socket & Marked, h);
      if (!finished) h.aborted.inc();
      if (p.threw || (finished && status >= 500)) h.errors.inc();
      const state = p.state;
      if (state !== undefined) {
        if (state.timerTime > 0) h.timerTime?.add(state.timerTime);
        if (state.methodTime > 0) h.methodTime?.add(state.methodTime);
      }
      // Begun before disable() and ended after it: no flush folds for us any more.
      if (active !== this) this.fold();
    } catch (err) {
      this.fault('recording a request failed', err);
    }
  }

  /**
   * Bytes read and written on the connection since its previous request ended: on a
   * keep-alive connection, requests follow each other, so the deltas are this request's head,
   * body and framing (on TLS, the decrypted HTTP bytes, not the TLS records). With pipelining
   * a request read early counts with the one before it; the totals stay exact.
   *
   * The counters are read from the socket's handle while it has one: `socket.bytesRead` and
   * `bytesWritten` return the same counters through two more getters and a copy of the write
   * buffer (empty once a response has finished), and cost ~0.25 µs more per request in a real
   * server. A closed socket has no handle; its getters then return the counts it ended with.
   */
  private countBytes(socket: Socket & Marked, h: RouteHandles): void {
    const handle = (socket as { _handle?: StreamHandle | null })._handle;
    const read = handle ? handle.bytesRead : socket.bytesRead;
    const written = handle ? handle.bytesWritten : socket.bytesWritten;
    if (typeof read === 'number') {
      const delta = read - (socket[READ_MARK] ?? 0);
      socket[READ_MARK] = read;
      if (delta > 0) h.readSince += delta;
    }
    if (typeof written === 'number') {
      const delta = written - (socket[WRITTEN_MARK] ?? 0);
      socket[WRITTEN_MARK] = written;
      if (delta > 0) h.writtenSince += delta;
    }
  }

  private handles(method: string, route: string, status: number): RouteHandles {
    const first = this.routes.get(route);
    return (first && find(first, method, status)) ?? this.addHandles(method, route, status, first);
  }

  /** The handles of a request whose route is its URL's normalized path, found by the URL. */
  private handlesOfUrl(method: string, url: string, status: number): RouteHandles {
    const first = this.byUrl.get(url);
    if (first !== undefined) {
      // `_overflow` (a route past maxRoutes) takes every method and status.
      if (first === this.overflow) return first;
      return find(first, method, status) ?? this.addHandles(method, first.route, status, first);
    }
    const route = normalizePath(url);
    const h = this.handles(method, route, status);
    if (url.length <= CACHED_URL_LENGTH) {
      if (this.byUrl.size >= CACHED_URLS) this.byUrl.clear();
      this.byUrl.set(url, this.routes.get(route) ?? h);
    }
    return h;
  }

  /** A new METHOD:route:status: its instance, or `_overflow` past a cap. */
  private addHandles(
    method: string,
    route: string,
    status: number,
    first: RouteHandles | undefined,
  ): RouteHandles {
    if (first === undefined && this.routes.size >= this.maxRoutes) {
      return this.routeOverflow(route);
    }
    const shown = shownRoute(route);
    const name = `${method}:${shown}:${status}`;
    let h: RouteHandles;
    try {
      // At the domain's cap this is `_overflow`'s index (the registry counts the fold once per
      // new name, as it is remembered here), or -1 if not even that fits in the file.
      const index = this.indom.resolve(name, { method, route: shown, status });
      const instance = index >= 0 ? this.indom.instances[index].name : OVERFLOW_INSTANCE;
      h = this.handlesOf(instance, route, method, status);
    } catch (err) {
      // A route PCP cannot take as an instance (its labels too long once escaped): remembered
      // as `_overflow` too, so it is reported once rather than at every request.
      this.fault(
        `route ${JSON.stringify(shown)} cannot be an instance; counted under _overflow`,
        err,
      );
      h = this.handlesOf(OVERFLOW_INSTANCE, route, method, status);
    }
    if (first === undefined) {
      this.routes.set(route, h);
    } else {
      let last = first;
      while (last.next !== null) last = last.next;
      last.next = h;
    }
    return h;
  }

  /** The handles of `_overflow`, for routes past maxRoutes. */
  private routeOverflow(route: string): RouteHandles {
    if (this.folded.add(route)) this.ctx.registry.countOverflowed();
    if (!this.warnedRoutes) {
      this.warnedRoutes = true;
      warnOnce(
        'PCP_AGENT_WARN_HTTP_ROUTES',
        `pcp-agent: more than ${this.maxRoutes} distinct HTTP server routes (maxRoutes); requests of further routes are counted under "${OVERFLOW_INSTANCE}" in http.server.*`,
      );
    }
    if (this.overflow === undefined) {
      this.overflow = this.handlesOf(OVERFLOW_INSTANCE, OVERFLOW_INSTANCE, '', 0);
    }
    return this.overflow;
  }

  private handlesOf(name: string, route: string, method: string, status: number): RouteHandles {
    return new RouteHandles(
      route,
      method,
      status,
      this.requests.instance(name),
      this.duration.instance(name),
      this.requestBytes.instance(name),
      this.responseBytes.instance(name),
      this.errors.instance(name),
      this.aborted.instance(name),
      this.timerTime?.instance(name) ?? null,
      this.methodTime?.instance(name) ?? null,
    );
  }

  /**
   * Adds what each instance's requests counted since the last fold to its metrics, and sets
   * http.server.in_flight, and records the queued durations: before each flush, so PCP reads
   * the same values as before. A request updates only its instance's RouteHandles. The three
   * counter updates and two gauge updates this replaces reached four more objects and their
   * arrays, each a cache miss in a server paced at 2000 requests a second beside others: the
   * agent read 0.6 points lower with this in eight runs (README, HTTP overhead).
   */
  fold(): void {
    for (const first of this.routes.values()) {
      for (let h: RouteHandles | null = first; h !== null; h = h.next) foldHandles(h);
    }
    if (this.overflow !== undefined) foldHandles(this.overflow);
    this.inFlight.set(this.begun - this.ended);
  }

  fault(what: string, err: unknown): void {
    try {
      this.ctx.fault(CODE, what, err);
    } catch {
      // fault never throws by contract; the app must not see it even if it did
    }
  }
}

/**
 * An instance's queued durations, recorded in its histogram in the order they ended.
 * Recording one reaches the histogram's handle, its values, its bucket bounds, and its HDR
 * histogram and counts, each a cache miss at every request in a server paced beside others;
 * queueing reaches one line of the queue, and the histogram is then updated 64 at a time,
 * warm, and before each flush (fold), so PCP reads the same figures as before (each
 * instance's durations in the order they ended; `_overflow`'s by method and status).
 */
function recordDurations(h: RouteHandles): void {
  const n = h.queued;
  h.queued = 0;
  const durations = h.durations;
  const duration = h.duration;
  for (let k = 0; k < n; k++) duration.record(durations[k]);
}

/** One instance's counts since the last fold, added to its metrics. */
function foldHandles(h: RouteHandles): void {
  if (h.queued > 0) recordDurations(h);
  if (h.requestsSince > 0) {
    h.requests.add(h.requestsSince);
    h.requestsSince = 0;
  }
  if (h.readSince > 0) {
    h.requestBytes.add(h.readSince);
    h.readSince = 0;
  }
  if (h.writtenSince > 0) {
    h.responseBytes.add(h.writtenSince);
    h.writtenSince = 0;
  }
}

/** A response's 'close' listener: shared, with the request's record on the response. */
function onResponseClose(this: ServerResponse): void {
  const p = (this as Observed)[PENDING];
  if (p !== undefined) p.metrics.end(this, p);
}

/** Most bytes of a route in an instance name, so that METHOD:route:status and the labels fit. */
const MAX_ROUTE_BYTES = 160;

/** The route as instance names allow: no white space (PCP keys instances by first word). */
function shownRoute(route: string): string {
  let r = /[\s\0]/.test(route) ? route.replace(/\0/g, '').replace(/\s/g, '_') : route;
  if (r === '') r = '/';
  while (Buffer.byteLength(r) > MAX_ROUTE_BYTES) r = r.slice(0, r.length - 8);
  return r;
}

/**
 * Wraps a server's emit. Why not diagnostics_channel: `http.server.request.start` fires before
 * the listener, so it cannot run the listener in the request's context nor see it throw, and
 * `http.server.response.finish` does not fire for aborted requests, which need a 'close'
 * listener anyway. Measured in-process on Node 20 (a real IncomingMessage/ServerResponse pair
 * through Node's per-request steps, CPU time): the wrapper itself ~0-20 ns; with the record,
 * two clock reads and the 'close' listener ~220 ns/request; the channels' start + finish pair
 * doing the same work ~210 ns but blind to aborts. So the wrapper: as cheap, and correct.
 * All of this instrumentation, same set-up: ~0.3 µs/request (~0.45 µs with context on);
 * timed inside a real hello-world server on a 2-core VM, where a clock read alone is ~0.1 µs,
 * ~1-1.3 µs of the ~40 µs a request costs there.
 */
function wrapEmit(original: Emit): Emit {
  return function emit(this: unknown, event: string | symbol, req?: unknown, res?: unknown) {
    const metrics = active;
    // biome-ignore lint/complexity/noArguments: the caller's arguments, untouched and without a rest array, on every emit of every server
    const args = arguments as unknown as Parameters<Emit>;
    if (event !== 'request' || metrics === null) {
      if (event === 'connection' && metrics !== null) metrics.connected(this);
      return original.apply(this, args);
    }
    const p = metrics.begin(req, res);
    if (p === undefined) return original.apply(this, args);
    if (p.state !== undefined) return metrics.runInContext(p, original, this, args);
    try {
      return original.apply(this, args);
    } catch (err) {
      metrics.listenerThrew(p);
      throw err;
    }
  };
}

interface PatchedEmit {
  proto: { emit: Emit };
  /** Whether emit was the prototype's own (else inherited from EventEmitter, via net.Server). */
  own: boolean;
  original: Emit;
}

const patched: PatchedEmit[] = [];

/**
 * http.Server and https.Server (which inherits from tls.Server, not http.Server) both take
 * emit from EventEmitter: each prototype gets its own wrapper. Prototypes, not modules, so
 * servers made before the agent started, and by ESM `import http`, are covered too.
 */
function patchEmit(proto: { emit: Emit }): void {
  if (patched.some((p) => p.proto === proto)) return;
  const own = Object.hasOwn(proto, 'emit');
  const original = proto.emit;
  shimmer.wrap(proto, 'emit', wrapEmit);
  patched.push({ proto, own, original });
}

function unpatchEmit(): void {
  for (const { proto, own, original } of patched.splice(0)) {
    shimmer.unwrap(proto, 'emit');
    // shimmer restores by defining the original on the prototype; it was inherited.
    if (!own && Object.getOwnPropertyDescriptor(proto, 'emit')?.value === original) {
      delete (proto as Partial<typeof proto>).emit;
    }
  }
}

/** Server metrics for http and https servers; see the module comment. */
export function httpServerInstrumentation(): Instrumentation {
  let metrics: ServerMetrics | null = null;
  let unsubscribe: (() => void) | null = null;
  return {
    name: 'http',
    enable(ctx: AgentContext): void {
      if (metrics !== null) return;
      if (active !== null) {
        ctx.fault(CODE, 'the HTTP server instrumentation is already enabled; not enabled twice');
        return;
      }
      try {
        metrics = new ServerMetrics(ctx);
      } catch (err) {
        ctx.fault(CODE, 'declaring the HTTP server metrics failed; HTTP servers not observed', err);
        return;
      }
      active = metrics;
      const m = metrics;
      unsubscribe = ctx.registry.beforeFlush(() => m.fold());
      patchEmit(http.Server.prototype as unknown as { emit: Emit });
      patchEmit(https.Server.prototype as unknown as { emit: Emit });
      startRouteTagging();
    },
    disable(): void {
      if (metrics === null) return;
      if (active === metrics) {
        active = null;
        unpatchEmit();
        stopRouteTagging();
      }
      unsubscribe?.();
      unsubscribe = null;
      metrics.fold(); // what was counted since the last flush, for the next one
      metrics = null;
    },
  };
}
