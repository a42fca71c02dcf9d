// Request context: which request the running code serves, so time in timers and decorated
// methods can be added to its route. AsyncLocalStorage only: no async_hooks destroy hook.

import { AsyncLocalStorage } from 'node:async_hooks';
import { requestContextSlot } from '../src/decorators/request-context';
import type { RequestContext, RequestState } from './types';

class AlsRequestContext implements RequestContext {
  readonly enabled = true;
  private readonly als = new AsyncLocalStorage<RequestState>();

  current(): RequestState | undefined {
    return this.als.getStore();
  }

  run<T>(state: RequestState, fn: () => T): T {
    return this.als.run(state, fn);
  }
}

/** When context is off: nothing is tracked and run() is a plain call. */
const OFF: RequestContext = {
  enabled: false,
  current: () => undefined,
  run: <T>(_state: RequestState, fn: () => T): T => fn(),
};

export function requestContext(enabled: boolean): RequestContext {
  return enabled ? new AlsRequestContext() : OFF;
}

export function newRequestState(): RequestState {
  return { timerTime: 0, methodTime: 0, methodDepth: 0, methodStart: 0 };
}

/**
 * Lets the decorators (in the library, which never imports the agent) find the request
 * context, through a slot under a global symbol, while context is on. Returns the undo.
 */
export function shareRequestContext(requests: RequestContext): () => void {
  const slot = requestContextSlot();
  if (!requests.enabled || slot.context !== undefined) return () => {};
  slot.context = requests;
  return () => {
    if (slot.context === requests) slot.context = undefined;
  };
}
