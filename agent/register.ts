// `require('pcp-agent/start')` / `import 'pcp-agent/start'`: starts the agent from code, for
// when a preload flag cannot be used. The first line of the app's entry point is best.

import { startAgent } from './start';

startAgent();
