// For the fault tests: the fault app under the agent with its own exit code, waiting for what
// real PCP shows, the agent's warnings, and the mounts that make a fault real (a tiny tmpfs, a
// read-only bind mount, a file system with whole-second times), each with its fallback.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import { type AppOptions, type AppRun, FIXTURES, spawnApp } from './app';
import { fetchValues, metricNames, PminfoError, removePcpTmpDir } from './pcp';
import { poll } from './poll';

/** The fault app's own exit code: the agent must never change it. */
export const EXIT_CODE = 5;

/** Set to 1 to run the fallbacks (injected ENOSPC, no mounts) where mounting would work. */
export const FORCE_FALLBACK = process.env.PCP_AGENT_TEST_FAULT_FALLBACK === '1';

const runs: AppRun[] = [];
const cleanups: (() => void)[] = [];

/** The fault app (test/fixtures/apps/fault-app.cjs) publishing as `name`. */
export function faultApp(name: string, options: AppOptions = {}): AppRun {
  const run = spawnApp('fault-app.cjs', {
    ...options,
    env: { PCP_AGENT_NAME: name, EXIT_CODE: String(EXIT_CODE), ...options.env },
  });
  runs.push(run);
  return run;
}

/** Runs at cleanup, before the apps' directories are removed (an unmount, say). */
export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

/** For afterEach: kills what is still running, undoes faults, removes the directories. */
export function cleanUp(): void {
  for (const r of runs) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  }
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      fn();
    } catch (err) {
      console.error('fault test cleanup:', err);
    }
  }
  for (const r of runs.splice(0)) removePcpTmpDir(r.pcpTmpDir);
}

/** Sends a command and waits for its answer (answers must be unique within a test). */
export async function ask(run: AppRun, command: string, answer: RegExp): Promise<string> {
  run.send(command);
  return run.line(answer, 20_000);
}

/** Ends the app by itself and checks it exited with its own code, as without the agent. */
export async function expectOwnExit(run: AppRun): Promise<void> {
  run.send('quit');
  expect(await run.exited(20_000)).toEqual({ code: EXIT_CODE, signal: null });
}

/** The agent's warning codes on the app's stderr, one per warning printed. */
export function warningCodes(run: AppRun): string[] {
  return [...run.stderr().matchAll(/\[(PCP_AGENT_\w+)\] PcpAgentWarning/g)].map((m) => m[1]!);
}

/** Polls `probe` until it returns something other than undefined; fails after `timeoutMs`. */
export function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  return poll(what, probe, { timeoutMs });
}

/** A value as real PCP shows it now, or undefined when PCP has no such metric or instance. */
export async function pcpValue(
  pcpTmpDir: string,
  metric: string,
  instance: string | null = null,
): Promise<number | bigint | string | undefined> {
  try {
    return (await fetchValues(pcpTmpDir, [metric])).get(metric)?.values.get(instance);
  } catch (err) {
    if (err instanceof PminfoError && /Unknown metric name/.test(err.stderr)) return undefined;
    throw err;
  }
}

/** Waits until real PCP shows `expected` for a metric (and instance). */
export async function waitForPcpValue(
  pcpTmpDir: string,
  metric: string,
  expected: number | string,
  instance: string | null = null,
): Promise<void> {
  let seen: unknown;
  await waitFor(
    `PCP to show ${metric}${instance ? `[${instance}]` : ''} = ${expected}`,
    async () => {
      seen = await pcpValue(pcpTmpDir, metric, instance);
      return seen === expected ? true : undefined;
    },
  ).catch((err) => {
    throw new Error(`${err.message} (last seen: ${String(seen)})`);
  });
}

/** The names real PCP lists under a prefix (none while the file is not published). */
export function pcpNames(pcpTmpDir: string, prefix: string): Promise<string[]> {
  return metricNames(pcpTmpDir, prefix);
}

// ---- making faults real -------------------------------------------------------------------

export const isRoot = process.getuid?.() === 0;

function run(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** Unmounts, lazily if something still holds it, so cleanup never fails a run. */
export function unmount(dir: string): void {
  if (!run('umount', [dir])) run('umount', ['-l', dir]);
}

/** Mounts a tmpfs of `size` bytes (mode 0755) on dir; false where mounting is impossible. */
export function mountTinyTmpfs(dir: string, size: number): boolean {
  if (FORCE_FALLBACK || !isRoot) return false;
  if (!run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir])) return false;
  onCleanup(() => unmount(dir));
  return true;
}

/** Fills a file system with a dot-file (pmdammv skips it) until no space is left. */
export function fillUp(dir: string): string {
  const filler = path.join(dir, '.filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

/** How a directory is made unwritable for the app, and how that is undone. */
export interface Unwritable {
  how: string;
  /** Node arguments for the app (the privilege drop, when that is the way). */
  nodeArgs: string[];
  restore(): void;
}

/**
 * Makes the MMV directory unwritable for the app started next. Root ignores mode bits, so as
 * root it becomes a read-only bind mount of itself, or, where mounting is not allowed (a
 * container), the app drops to `nobody` before the agent loads; other users get chmod 0555.
 */
export function makeUnwritable(pcpTmpDir: string): Unwritable {
  const mmv = path.join(pcpTmpDir, 'mmv');
  if (!isRoot) {
    fs.chmodSync(mmv, 0o555);
    return { how: 'chmod 0555', nodeArgs: [], restore: () => fs.chmodSync(mmv, 0o755) };
  }
  if (!FORCE_FALLBACK && run('mount', ['--bind', mmv, mmv])) {
    onCleanup(() => unmount(mmv));
    if (run('mount', ['-o', 'remount,bind,ro', mmv])) {
      return { how: 'read-only bind mount', nodeArgs: [], restore: () => unmount(mmv) };
    }
    unmount(mmv);
  }
  // nobody must reach the directory (mkdtemp made its parent 0700), but not write in it.
  fs.chmodSync(pcpTmpDir, 0o755);
  fs.chmodSync(mmv, 0o555);
  return {
    how: 'app running as nobody, chmod 0555',
    nodeArgs: ['--require', path.join(FIXTURES, 'fault-nobody.cjs')],
    restore: () => {
      fs.chownSync(mmv, 65534, 65534);
      fs.chmodSync(mmv, 0o755);
    },
  };
}

/** How the file system is filled: a real tmpfs, or ENOSPC injected into the app's writes. */
export interface FullDisk {
  how: string;
  nodeArgs: string[];
  env: Record<string, string>;
  fill(): void;
  free(): void;
}

/**
 * A file system that can be made full: a tmpfs of 1 MiB mounted on the MMV directory, or,
 * where mounting is impossible, a preload in the app (fault-enospc.cjs) that makes writes to
 * new files in the directory fail with ENOSPC while a flag file exists, as a full disk does.
 */
export function fullableDisk(pcpTmpDir: string): FullDisk {
  const mmv = path.join(pcpTmpDir, 'mmv');
  if (mountTinyTmpfs(mmv, 1024 * 1024)) {
    let filler: string | undefined;
    return {
      how: 'tmpfs of 1 MiB',
      nodeArgs: [],
      env: {},
      fill: () => {
        filler = fillUp(mmv);
      },
      free: () => fs.rmSync(filler ?? path.join(mmv, '.filler'), { force: true }),
    };
  }
  const flag = path.join(pcpTmpDir, 'disk-full');
  return {
    how: 'ENOSPC injected',
    nodeArgs: ['--require', path.join(FIXTURES, 'fault-enospc.cjs')],
    env: { FAULT_FULL_FLAG: flag },
    fill: () => fs.writeFileSync(flag, ''),
    free: () => fs.rmSync(flag, { force: true }),
  };
}

/**
 * A PCP_TMP_DIR on a file system whose times have whole seconds (ext4 with 128-byte inodes, in
 * a loop-mounted image), where pmdammv, like every pmdammv before PCP 6.0, sees the directory
 * change only once per second. Null where it cannot be mounted.
 */
export function wholeSecondPcpTmpDir(): string | null {
  if (FORCE_FALLBACK || !isRoot) return null;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-seconds-'));
  const image = path.join(base, 'fs.img');
  const mnt = path.join(base, 'mnt');
  fs.mkdirSync(mnt);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 16 * 1024 * 1024);
  const made = run('mke2fs', ['-q', '-F', '-t', 'ext4', '-I', '128', image]);
  if (!made || !run('mount', ['-o', 'loop', image, mnt])) {
    fs.rmSync(base, { recursive: true, force: true });
    return null;
  }
  onCleanup(() => {
    unmount(mnt);
    fs.rmSync(base, { recursive: true, force: true });
  });
  fs.mkdirSync(path.join(mnt, 'mmv'), { mode: 0o755 });
  return mnt;
}
