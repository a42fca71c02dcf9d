// Every instrumentation the agent knows, in the order they are enabled. Each is switched by
// the AgentConfig key of its name (PCP_AGENT_HTTP, PCP_AGENT_TIMERS, ...).

import { httpClientInstrumentation } from './instrument/http-client';
import { httpServerInstrumentation } from './instrument/http-server';
import { runtimeInstrumentation } from './instrument/runtime';
import { timersInstrumentation } from './instrument/timers';
import type { Instrumentation } from './types';

export const INSTRUMENTATIONS: readonly (() => Instrumentation)[] = [
  httpServerInstrumentation,
  httpClientInstrumentation,
  timersInstrumentation,
  runtimeInstrumentation,
];
