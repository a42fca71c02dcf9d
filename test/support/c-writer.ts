// Builds and runs test/c/reference_writer.c, PCP's own C MMV writer (libpcp_mmv), so tests
// can put a file written by PCP itself next to ours and ask pminfo about both.

import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isCi } from './pcp';

export const REFERENCE_WRITER_SOURCE = resolve(__dirname, '..', 'c', 'reference_writer.c');
const RUN_TIMEOUT_MS = 20_000;

let built: string | undefined;
let buildError: Error | undefined;

/**
 * Compiles the reference writer and returns the binary's path; throws with gcc's output.
 * The binary is cached in the OS temp dir under a hash of the source, so it is compiled
 * once per source change rather than per test file; parallel workers publish it by rename.
 */
export function buildReferenceWriter(): string {
  if (built !== undefined) return built;
  if (buildError !== undefined) throw buildError;
  const source = readFileSync(REFERENCE_WRITER_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `pcp-agent-reference-writer-${hash}`);
  const binary = join(dir, 'reference_writer');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const partial = `${binary}.${process.pid}.tmp`;
    try {
      execFileSync(
        'gcc',
        ['-Wall', '-O1', REFERENCE_WRITER_SOURCE, '-o', partial, '-lpcp_mmv', '-lpcp'],
        { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
      );
      renameSync(partial, binary);
    } catch (error) {
      rmSync(partial, { force: true });
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
      buildError = new Error(
        'cannot build the PCP reference writer (need gcc, libpcp-mmv1-dev, libpcp3-dev): ' +
          `${(error as Error).message}\n${stderr}`,
      );
      throw buildError;
    }
  }
  built = binary;
  return binary;
}

/**
 * True when the reference writer builds. Failing to build throws in CI (tests against
 * PCP's C library must not skip there) and returns false locally so the caller skips.
 */
export function requireReferenceWriter(
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  try {
    buildReferenceWriter();
    return true;
  } catch (error) {
    if (isCi(env)) throw error;
    return false;
  }
}

/** Writes the reference set to <pcpTmpDir>/mmv/<name> and returns that path. */
export function runReferenceWriter(pcpTmpDir: string, name: string): Promise<string> {
  const binary = buildReferenceWriter();
  return new Promise((resolvePath, reject) => {
    execFile(
      binary,
      [name],
      { env: { ...process.env, PCP_TMP_DIR: pcpTmpDir }, timeout: RUN_TIMEOUT_MS },
      (error, _stdout, stderr) => {
        if (error === null) resolvePath(join(pcpTmpDir, 'mmv', name));
        else reject(new Error(`reference_writer ${name} failed: ${error.message}\n${stderr}`));
      },
    );
  });
}
