// The contract with the agent's request context, through a global symbol so that the library
// never imports the agent: timed decorators add their time to the request being served.

/**
 * The global symbol under which the slot for the request context lives: created by whichever
 * of the library and the agent comes first (or by another copy of them), so all share it.
 */
export const REQUEST_CONTEXT = Symbol.for('pcp-agent.requestContext');

/** What decorators need from the state of the request being served. */
export interface MethodTimeState {
  /** Milliseconds inside decorated methods on behalf of the request. */
  methodTime: number;
  /** Timed decorated calls of the request running now (nested or concurrent). */
  methodDepth: number;
  /** When the outermost of them started (performance.now()). */
  methodStart: number;
}

/** The agent's request context, as the decorators see it. */
export interface RequestContextSource {
  current(): MethodTimeState | undefined;
}

/** The agent sets `context` while its request context is on (PCP_AGENT_CONTEXT). */
export interface RequestContextSlot {
  context: RequestContextSource | undefined;
}

/** The process's slot. A property of globalThis is slow to read (≈10 ns): read it once. */
export function requestContextSlot(): RequestContextSlot {
  const global = globalThis as { [REQUEST_CONTEXT]?: RequestContextSlot };
  let slot = global[REQUEST_CONTEXT];
  if (slot === undefined) {
    slot = { context: undefined };
    global[REQUEST_CONTEXT] = slot;
  }
  return slot;
}

const slot = requestContextSlot();

/** The state of the request the running code serves, if context is on and there is one. */
export function currentRequest(): MethodTimeState | undefined {
  const source = slot.context;
  return source === undefined ? undefined : source.current();
}

/**
 * A timed call starts. Time counts once while any timed call of the request runs, so a nested
 * call (or one running beside another) adds nothing of its own: Parfait's EventTimer rule.
 */
export function enterMethod(state: MethodTimeState, now: number): void {
  if (state.methodDepth++ === 0) state.methodStart = now;
}

/** A timed call ends; the outermost one adds the time since the first began. */
export function leaveMethod(state: MethodTimeState, now: number): void {
  if (--state.methodDepth === 0) state.methodTime += Math.max(0, now - state.methodStart);
}
