// The contracts between the agent's parts: its configuration, what every instrumentation is
// given, and what it must offer. Instrumentations observe; the registry turns that into metrics.

import type { Registry } from '../src/index';

/** The agent's settings, after the environment and the config file are parsed (config.ts). */
export interface AgentConfig {
  /** Whether the agent starts at all. */
  enabled: boolean;
  /** The file name (`mmv.<name>.`); default from package.json, else the script name. */
  name: string | undefined;
  /** The directory of the MMV file; default `$PCP_TMP_DIR/mmv`. */
  dir: string | undefined;
  /** Milliseconds between flushes. */
  flushInterval: number;
  /** Instrument HTTP(S) servers. */
  http: boolean;
  /** Instrument HTTP(S) clients: http.request/get and fetch. */
  httpClient: boolean;
  /** Instrument timers. */
  timers: boolean;
  /** Sample runtime metrics (event loop, memory, CPU, resources) at each flush. */
  runtime: boolean;
  /**
   * With runtime: garbage collections by kind (a PerformanceObserver of 'gc' entries). Off by
   * default for what Node does for each entry (agent/runtime/gc.ts).
   */
  gc: boolean;
  /** Attribute time in timers and decorated methods to the request being served (AsyncLocalStorage). */
  context: boolean;
  /** Most distinct server routes; the rest fold into `_overflow`. */
  maxRoutes: number;
  /** Most distinct client hosts; the rest fold into `_overflow`. */
  maxHosts: number;
  /** Upper bounds, in milliseconds, of the HTTP duration buckets. */
  durationBuckets: number[];
  /** Milliseconds each percentile window lasts. */
  window: number;
  /** Milliseconds between the event-loop delay ticks. */
  eventLoopResolution: number;
}

/** What the request being served carries while its handlers (and their timers) run. */
export interface RequestState {
  /** Milliseconds spent inside timer callbacks on behalf of this request. */
  timerTime: number;
  /** Milliseconds spent inside decorated methods on behalf of this request. */
  methodTime: number;
  /** Timed decorated calls of this request running now: nested ones add no time of their own. */
  methodDepth: number;
  /** When the outermost running one started (performance.now()). */
  methodStart: number;
}

/** Request context: which request, if any, the running code serves. */
export interface RequestContext {
  /** Whether context is on; when false, current() is always undefined. */
  readonly enabled: boolean;
  /** The state of the request being served, if any. */
  current(): RequestState | undefined;
  /** Runs fn with a new request state current; returns fn's result. */
  run<T>(state: RequestState, fn: () => T): T;
}

/** What an instrumentation is given when it is enabled. */
export interface AgentContext {
  readonly registry: Registry;
  readonly config: AgentConfig;
  readonly requests: RequestContext;
  /** Counts an internal error in `pcp_agent.errors` and warns once with the code. Never throws. */
  fault(code: string, what: string, err?: unknown): void;
}

/** One instrumentation: a module that observes one part of the app or the runtime. */
export interface Instrumentation {
  /** Its name in PCP_AGENT_* switches and logs: `http`, `httpClient`, `timers`, `runtime`. */
  readonly name: string;
  /** Patches or subscribes, and declares its metrics. Called at most once before disable(). */
  enable(ctx: AgentContext): void;
  /** Undoes everything enable() did: every patch has its unpatch. */
  disable(): void;
}
