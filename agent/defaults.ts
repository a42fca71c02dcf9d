// The agent's defaults, in one place: config.ts parses overrides onto these.

import type { AgentConfig } from './types';

export const DEFAULT_CONFIG: Readonly<AgentConfig> = Object.freeze({
  enabled: true,
  name: undefined,
  dir: undefined,
  flushInterval: 1000,
  http: true,
  httpClient: true,
  timers: true,
  runtime: true,
  gc: false,
  context: false,
  maxRoutes: 100,
  maxHosts: 100,
  durationBuckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
  window: 10_000,
  eventLoopResolution: 100,
});
