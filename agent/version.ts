// The agent's own version, from the package.json it ships with (found by walking up, so it
// holds from the TypeScript sources and from the compiled dist/ alike).

import * as fs from 'node:fs';
import * as path from 'node:path';

function findVersion(): string {
  let d = __dirname;
  for (let k = 0; k < 6; k++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8'));
      if (pkg.name === 'pcp-agent' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: keep walking up
    }
    d = path.dirname(d);
  }
  return 'unknown';
}

export const AGENT_VERSION = findVersion();
