// Lists the MMV files in a directory the way pmdammv would see them: which ones decode, whose
// writer is alive, and how much each holds. One bad file never hides the others.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { PcpAgentError } from '../errors';
import { readMmvFile } from '../mmv/reader';

export interface ListedFile {
  readonly name: string;
  readonly path: string;
  readonly version: number;
  readonly pid: number;
  /** Whether a process with that pid exists now (null when the pid is not a real one). */
  readonly alive: boolean | null;
  readonly process: boolean;
  readonly stable: boolean;
  readonly metrics: number;
  readonly values: number;
}

export interface ListError {
  readonly name: string;
  readonly path: string;
  /** The PcpAgentError message, code first. */
  readonly error: string;
}

export type ListEntry = ListedFile | ListError;

export const isListError = (e: ListEntry): e is ListError => 'error' in e;

/**
 * Whether a process exists, by signal 0. EPERM means it exists but belongs to someone else.
 * Pids of 0 and below are refused: kill(0) and kill(-n) address process groups, not a pid.
 */
export function pidAlive(pid: number): boolean | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads every candidate file in `dir`: names starting with '.' and anything that is not a
 * regular file (after following symlinks) are skipped, as pmdammv skips them.
 * Throws PCP_AGENT_ERR_IO when the directory itself cannot be read.
 */
export function listMmvFiles(
  dir: string,
  isAlive: (pid: number) => boolean | null = pidAlive,
): ListEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PcpAgentError(
      'PCP_AGENT_ERR_IO',
      `cannot read directory ${dir}: ${e.code ?? e.message}`,
      {
        cause: err,
      },
    );
  }
  const entries: ListEntry[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const file = path.join(dir, name);
    try {
      if (!fs.statSync(file).isFile()) continue;
    } catch {
      continue; // vanished or a dangling symlink: pmdammv's stat() fails the same way
    }
    try {
      const mmv = readMmvFile(file);
      entries.push({
        name,
        path: file,
        version: mmv.version,
        pid: mmv.pid,
        alive: isAlive(mmv.pid),
        process: mmv.process,
        stable: mmv.stable,
        metrics: mmv.metrics.length,
        values: mmv.values.length,
      });
    } catch (err) {
      if (!(err instanceof PcpAgentError)) throw err;
      entries.push({ name, path: file, error: err.message });
    }
  }
  return entries;
}

const yesNo = (b: boolean | null): string => (b === null ? '-' : b ? 'yes' : 'no');

/** A table with one line per file; a file that fails to read shows its error instead. */
export function formatList(dir: string, entries: readonly ListEntry[]): string {
  if (entries.length === 0) return `${dir}: no MMV files\n`;
  const header = ['NAME', 'VERSION', 'PID', 'ALIVE', 'PROCESS', 'STABLE', 'METRICS', 'VALUES'];
  const rows = entries.map((e): string[] =>
    isListError(e)
      ? [e.name]
      : [
          e.name,
          String(e.version),
          String(e.pid),
          yesNo(e.alive),
          yesNo(e.process),
          yesNo(e.stable),
          String(e.metrics),
          String(e.values),
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [`${dir}:`, line(header)];
  entries.forEach((e, i) => {
    out.push(isListError(e) ? line([e.name, e.error]) : line(rows[i]!));
  });
  return `${out.join('\n')}\n`;
}
