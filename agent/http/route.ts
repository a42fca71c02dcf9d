// The route a server request was served by: the framework's route pattern when one is known
// (Express, NestJS on Express, Fastify, Koa with @koa/router), else the path with its IDs made
// placeholders, so that metrics get one instance per route rather than one per URL.

import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import shimmer from 'shimmer';

/** The route of a 404 that no framework route matched: a scanner's junk URLs are one route. */
export const UNMATCHED = '_unmatched';

/**
 * Tags a raw request with its route: a string (Fastify, set when its route handler starts) or
 * a Koa context (whose `_matchedRoute` @koa/router sets later, so it is read at the end).
 */
const ROUTE = Symbol('pcp-agent.route');

interface Tagged {
  [ROUTE]?: string | KoaContext;
}

interface KoaContext {
  _matchedRoute?: unknown;
}

interface ExpressRequest {
  route?: unknown;
  baseUrl?: unknown;
}

/**
 * The route of a request, read when its response ends: the framework's route, or for a 404
 * without one `_unmatched`, or else the normalized path of `url` (the request's original URL).
 */
export function routeOf(req: IncomingMessage, url: string, status: number): string {
  return namedRoute(req, status) ?? normalizePath(url);
}

/**
 * routeOf's route when it does not come from the URL: the framework's, or `_unmatched` for a
 * 404 without one; undefined when it is the URL's normalized path (which the HTTP server
 * instrumentation finds by the URL, remembered).
 */
export function namedRoute(req: IncomingMessage, status: number): string | undefined {
  const route = frameworkRoute(req);
  if (route !== undefined) return route;
  // A 404 with no route is a framework's (or a plain server's) "no such thing": per URL, each
  // scanner's junk URL would become a route and push the real ones out of the cap. A plain
  // server's 404 for /users/999 is then _unmatched too: without a router there is no telling
  // a missing user from /wp-login.php, and it is the junk that fills the cap.
  return status === 404 ? UNMATCHED : undefined;
}

/** The route a framework matched, if it left one where the end of the response can read it. */
export function frameworkRoute(req: IncomingMessage): string | undefined {
  const tag = (req as Tagged)[ROUTE];
  if (typeof tag === 'string') return tag;
  if (tag !== undefined) return patternString(tag._matchedRoute);
  const route = (req as ExpressRequest).route;
  if (typeof route === 'object' && route !== null) {
    return expressRoute(route, (req as ExpressRequest).baseUrl);
  }
  return undefined;
}

// ---- Express (and NestJS on Express) --------------------------------------------------------

interface ExpressRoute {
  /** The baseUrl the route was last seen under. */
  base: string;
  /** base + the route's path: the same string object each time, so Map keys hash once. */
  full: string;
}

/** Express Route object → its full path. Weak: routes of a discarded app are not kept. */
const expressRoutes = new WeakMap<object, ExpressRoute>();

/**
 * `req.baseUrl + req.route.path`. A router restores `req.baseUrl` when an error leaves it
 * (`next(err)` to an app-level error handler), so an empty baseUrl at the end takes the mount
 * path this Route object was last served under; only a route whose first response is such an
 * error shows without its mount path.
 */
function expressRoute(route: object, baseUrl: unknown): string | undefined {
  const base = typeof baseUrl === 'string' ? baseUrl : '';
  const known = expressRoutes.get(route);
  if (known !== undefined && (base === known.base || base === '')) return known.full;
  const path = patternString((route as { path?: unknown }).path);
  if (path === undefined) return undefined;
  const full = base === '' ? path : path === '/' ? base : base + path;
  expressRoutes.set(route, { base, full });
  return full;
}

/** A route pattern as a string: Express accepts arrays and regular expressions too. */
function patternString(p: unknown): string | undefined {
  if (typeof p === 'string') return p === '' ? '/' : p;
  if (p instanceof RegExp) return String(p);
  if (Array.isArray(p) && p.length > 0) return p.map(String).join('|');
  return undefined;
}

// ---- Fastify and Koa: tagging the raw request ------------------------------------------------

const FASTIFY_HANDLER_START = 'tracing:fastify.request.handler:start';

/**
 * Fastify publishes each routed request on its `fastify.request.handler` tracing channel just
 * before the route handler runs, with the Fastify request (whose `raw` is the IncomingMessage)
 * and `route.url` (the pattern, prefix included). Not published for its 404 handler.
 */
function onFastifyHandler(message: unknown): void {
  try {
    const m = message as { request?: { raw?: unknown }; route?: { url?: unknown } };
    const raw = m.request?.raw;
    const url = m.route?.url;
    if (typeof raw === 'object' && raw !== null && typeof url === 'string') {
      (raw as Tagged)[ROUTE] = url;
    }
  } catch {
    // a throwing subscriber would be rethrown by diagnostics_channel into the app
  }
}

type CreateContext = (...args: unknown[]) => unknown;

interface KoaPrototype {
  createContext: CreateContext;
}

/** Koa Application prototypes patched, for unwrapping. */
const koaPatched = new Set<KoaPrototype>();
let tagging = false;

/**
 * Koa keeps its context (and @koa/router's `ctx._matchedRoute`) away from the raw request and
 * offers no channel, and `app.callback()` is a closure the server cannot see into. The one
 * place to observe is `Application.prototype.createContext`: the wrapper calls it and only
 * remembers the context it returned on the raw request.
 */
function wrapCreateContext(original: CreateContext): CreateContext {
  return function createContext(this: unknown, req: unknown): unknown {
    // biome-ignore lint/complexity/noArguments: passes the caller's arguments through untouched, without a rest array
    const ctx = original.apply(this, arguments as unknown as unknown[]);
    if (tagging && typeof req === 'object' && req !== null && typeof ctx === 'object') {
      (req as Tagged)[ROUTE] = ctx as KoaContext;
    }
    return ctx;
  };
}

/**
 * Koa is found in the CommonJS module cache (where `import 'koa'` also puts it: its ESM entry
 * re-exports lib/application.js). Called on each server's first connection, when the app has
 * loaded its framework; a scan of the cache's keys, once per server.
 */
export function findFrameworks(): void {
  if (!tagging) return;
  const cache = createRequire(join(process.cwd(), 'index.js')).cache;
  const tail = `${sep}koa${sep}lib${sep}application.js`;
  for (const file of Object.keys(cache)) {
    if (!file.endsWith(tail)) continue;
    const app: unknown = cache[file]?.exports;
    const proto = typeof app === 'function' ? (app.prototype as KoaPrototype) : undefined;
    if (proto === undefined || typeof proto.createContext !== 'function') continue;
    if (koaPatched.has(proto)) continue;
    shimmer.wrap(proto, 'createContext', wrapCreateContext);
    koaPatched.add(proto);
  }
}

/** Starts tagging requests with framework routes. */
export function startRouteTagging(): void {
  if (tagging) return;
  tagging = true;
  diagnostics.subscribe(FASTIFY_HANDLER_START, onFastifyHandler);
}

/** Undoes startRouteTagging and every Koa patch findFrameworks made. */
export function stopRouteTagging(): void {
  if (!tagging) return;
  tagging = false;
  diagnostics.unsubscribe(FASTIFY_HANDLER_START, onFastifyHandler);
  for (const proto of koaPatched) shimmer.unwrap(proto, 'createContext');
  koaPatched.clear();
}

// ---- normalization -------------------------------------------------------------------------

const SLASH = 47;

// Character classes, one bit each, for classifying a segment in one pass.
const DIGIT = 1;
const HEX_LETTER = 2;
const LETTER = 4;
const DASH = 8;
const UNDERSCORE = 16;
/** Anything else: a segment with one is never an ID. */
const OTHER = 32;

const CLASS = new Uint8Array(128).fill(OTHER);
for (let c = 48; c <= 57; c++) CLASS[c] = DIGIT;
for (let c = 65; c <= 90; c++) CLASS[c] = c <= 70 ? HEX_LETTER : LETTER;
for (let c = 97; c <= 122; c++) CLASS[c] = c <= 102 ? HEX_LETTER : LETTER;
CLASS[45] = DASH;
CLASS[95] = UNDERSCORE;

/**
 * The path of a request URL with its query dropped and every segment that looks like an ID
 * replaced: digits → `:id`, a UUID → `:uuid`, 16 or more hex digits → `:hex`, 16 or more
 * letters, digits, `-` and `_` with both letters and digits (tokens, slugs with numbers,
 * nanoids) → `:token`. Every ID has a digit (bar all-letter hex, which is left alone), so a
 * path without one is returned as it is, and segments before the first digit are not looked
 * at; the rest is one pass with a table lookup per character.
 */
export function normalizePath(url: string): string {
  let end = url.indexOf('?');
  if (end < 0) end = url.length;
  const hash = url.indexOf('#');
  if (hash >= 0 && hash < end) end = hash;
  let start = 0;
  if (url.charCodeAt(0) !== SLASH) {
    // absolute-form (a request through a proxy): drop the scheme and host
    const scheme = url.indexOf('://');
    if (scheme < 0 || scheme >= end) return end === 0 ? '/' : url.slice(0, end);
    const path = url.indexOf('/', scheme + 3);
    if (path < 0 || path >= end) return '/';
    start = path;
  }
  let firstDigit = start;
  while (firstDigit < end) {
    const c = url.charCodeAt(firstDigit);
    if (c >= 48 && c <= 57) break;
    firstDigit++;
  }
  if (firstDigit === end) return start === 0 && end === url.length ? url : url.slice(start, end);
  let seg = url.lastIndexOf('/', firstDigit) + 1;
  let out = '';
  let copied = start;
  let mask = 0;
  let dashes = 0;
  for (let i = seg; i <= end; i++) {
    const c = i < end ? url.charCodeAt(i) : SLASH;
    if (c !== SLASH) {
      const k = c < 128 ? CLASS[c] : OTHER;
      mask |= k;
      if (k === DASH) dashes++;
      continue;
    }
    const placeholder = idPlaceholder(url, seg, i - seg, mask, dashes);
    if (placeholder !== undefined) {
      out += url.slice(copied, seg) + placeholder;
      copied = i;
    }
    seg = i + 1;
    mask = 0;
    dashes = 0;
  }
  if (copied === start) return start === 0 && end === url.length ? url : url.slice(start, end);
  return out + url.slice(copied, end);
}

/** The placeholder for a segment of n characters of the classes in mask, or undefined. */
function idPlaceholder(
  s: string,
  from: number,
  n: number,
  mask: number,
  dashes: number,
): string | undefined {
  if ((mask & DIGIT) === 0) return undefined;
  if (mask === DIGIT) return ':id';
  if ((mask & ~(DIGIT | HEX_LETTER)) === 0) return n >= 16 ? ':hex' : undefined;
  if (n === 36 && dashes === 4 && (mask & ~(DIGIT | HEX_LETTER | DASH)) === 0) {
    return isUuidShape(s, from) ? ':uuid' : undefined;
  }
  if (n >= 16 && (mask & OTHER) === 0 && (mask & (HEX_LETTER | LETTER)) !== 0) return ':token';
  return undefined;
}

/** Dashes at 8, 13, 18 and 23: 8-4-4-4-12. */
function isUuidShape(s: string, from: number): boolean {
  return (
    s.charCodeAt(from + 8) === 45 &&
    s.charCodeAt(from + 13) === 45 &&
    s.charCodeAt(from + 18) === 45 &&
    s.charCodeAt(from + 23) === 45
  );
}
