// The package's entry: the library, plus the agent when loaded as a preload
// (`node --require pcp-agent app.js`, `node --import pcp-agent app.mjs`, NODE_OPTIONS).

import * as path from 'node:path';
import { loadedAsPreload } from './preload';
import { startAgent } from './start';

export * from '../src/index';
export type { Agent } from './start';
export { getAgent, startAgent } from './start';
export type { AgentConfig } from './types';

try {
  // dist/agent/index.js → the package root is two levels up.
  if (loadedAsPreload(module, path.resolve(__dirname, '..', '..'))) startAgent();
} catch {
  // never throw into the app
}
