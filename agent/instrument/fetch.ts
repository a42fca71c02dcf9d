// fetch (undici, built into Node) observed through undici's diagnostics channels: nothing is
// patched, so the lazily created global fetch, and any undici an app installs, are all seen.
//
// In Node 20 undici publishes `undici:request:create` when a request is dispatched,
// `:headers` at the response headers, `:trailers` when the body has been received, and `:error`
// on a failure (before or after the headers). Each dispatch is one request: a redirect hop
// counts on its own. A channel message is a plain function call when someone subscribes, and
// nothing at all otherwise: cheaper than wrapping fetch and its promises and streams. A throw
// from a subscriber would reach the app as an uncaught exception, so every handler catches.

import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { ClientCall, ClientMetrics } from './http-client';

const kCall: unique symbol = Symbol('pcp-agent.fetch.call');

interface UndiciRequest {
  origin?: unknown;
  method?: unknown;
  [kCall]?: ClientCall;
}

interface UndiciMessage {
  request?: UndiciRequest;
  response?: { statusCode?: unknown };
  error?: unknown;
}

/** `host[:port]` of an undici origin (`http://host:port`; URL.origin leaves out default ports). */
function originHost(origin: unknown): string {
  if (typeof origin === 'string') {
    const start = origin.indexOf('//');
    const rest = start < 0 ? origin : origin.slice(start + 2);
    const end = rest.indexOf('/');
    return end < 0 ? rest : rest.slice(0, end);
  }
  const host = (origin as { host?: unknown } | null | undefined)?.host;
  return typeof host === 'string' ? host : 'unknown';
}

function callOf(message: unknown): ClientCall | undefined {
  return (message as UndiciMessage | null)?.request?.[kCall];
}

/** Subscribes to undici's request channels; returns the unsubscribe. */
export function observeFetch(metrics: ClientMetrics): () => void {
  const onCreate = (message: unknown): void => {
    try {
      const request = (message as UndiciMessage | null)?.request;
      if (!request || request[kCall] !== undefined) return;
      request[kCall] = metrics.begin(originHost(request.origin), request.method, performance.now());
    } catch (err) {
      metrics.fault('tracking a fetch request failed', err);
    }
  };
  const onHeaders = (message: unknown): void => {
    try {
      const call = callOf(message);
      if (call === undefined) return;
      const status = (message as UndiciMessage).response?.statusCode;
      call.status = typeof status === 'number' ? status : 0;
    } catch (err) {
      metrics.fault('recording a fetch response failed', err);
    }
  };
  const onTrailers = (message: unknown): void => {
    try {
      const call = callOf(message);
      if (call !== undefined) metrics.succeed(call, Math.max(call.status, 0));
    } catch (err) {
      metrics.fault('recording a fetch request failed', err);
    }
  };
  const onError = (message: unknown): void => {
    try {
      const call = callOf(message);
      if (call !== undefined) metrics.fail(call, call.status, (message as UndiciMessage).error);
    } catch (err) {
      metrics.fault('recording a fetch request failed', err);
    }
  };
  const subscriptions: [string, (message: unknown) => void][] = [
    ['undici:request:create', onCreate],
    ['undici:request:headers', onHeaders],
    ['undici:request:trailers', onTrailers],
    ['undici:request:error', onError],
  ];
  for (const [name, fn] of subscriptions) diagnostics.subscribe(name, fn);
  return () => {
    for (const [name, fn] of subscriptions) diagnostics.unsubscribe(name, fn);
  };
}
