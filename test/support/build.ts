// A private build of the package, for tests that run its compiled files. `npm test` builds
// dist/ before the tests, and test files running at the same time spawn processes that load
// dist/ (`require('pcp-agent')`): a test that rebuilt dist/ in place would hand whichever
// process loads a file at that moment a half-written one.

import { spawnSync } from 'node:child_process';
import { ROOT } from './app';

/**
 * Compiles the project into `outDir`; returns what tsc printed. tsc emits even when an
 * unrelated file has type errors (the build itself is checked by `npm test`), so callers
 * check only that the file they need is there.
 */
export function privateBuild(outDir: string): string {
  const tsc = spawnSync('npx', ['tsc', '-p', '.', '--outDir', outDir], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return `${tsc.stdout}${tsc.stderr}`;
}
