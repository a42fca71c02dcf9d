// Which file name a process publishes under: the app's name made valid for pmdammv, then,
// when several processes of one app run, a suffix per process; and the cleanup of files whose
// processes died (PCP ignores them already; this keeps restarts from piling them up).

import cluster from 'node:cluster';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Limits } from '../mmv/format';
import { allocateId } from '../mmv/ids';
import {
  isAlive,
  ownedByDeadProcess,
  ownedByOtherLiveProcess,
  readFileHeader,
  readRegularFile,
} from './header';

/** Longest app name kept: room for a per-process suffix within the 200-byte file-name limit. */
const MAX_APP_NAME = 64;

/**
 * Turns any text (a package name, a script name) into one valid name component: letters,
 * digits and `_`, starting with a letter. `@acme/web-api` → `acme_web_api`, `2fa` → `app_2fa`.
 */
export function sanitizeName(text: string): string {
  let s = text
    .replace(/^@/, '')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (s === '') return 'node';
  if (!/^[A-Za-z]/.test(s)) s = `app_${s}`;
  return s.slice(0, MAX_APP_NAME).replace(/_+$/, '');
}

/** The `name` of the nearest package.json at or above a directory, if any. */
export function packageNameAbove(dir: string): string | undefined {
  let d = path.resolve(dir);
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8'));
      if (pkg && typeof pkg.name === 'string' && pkg.name.trim() !== '') return pkg.name;
    } catch {
      // no package.json here, or not JSON: keep looking upwards
    }
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/**
 * The app's name: the package.json nearest the main script (else the working directory's),
 * else the script's file name, else `node`; always valid for pmdammv.
 */
export function appName(
  script: string | undefined = process.argv[1],
  cwd: string = process.cwd(),
): string {
  const fromPackage = packageNameAbove(script ? path.dirname(path.resolve(script)) : cwd);
  if (fromPackage) return sanitizeName(fromPackage);
  if (script) return sanitizeName(path.basename(script).replace(/\.[cm]?[jt]sx?$/, ''));
  return 'node';
}

/** This process's node:cluster worker id, if it is a cluster worker. */
function clusterWorkerId(): number | undefined {
  // Node sets the worker up (and deletes NODE_UNIQUE_ID) before preloads run.
  return cluster.isWorker ? cluster.worker?.id : undefined;
}

/** Most slots looked at for a cluster worker before it falls back to its pid. */
const MAX_WORKER_SLOTS = 256;

/**
 * The file name for this process, claimed with a lock file (`.<name>.lock` holding the pid)
 * so no two live processes publish one name:
 * - `app` for a process of its own;
 * - `app.worker<k>` in a node:cluster worker, k the lowest slot no live worker holds, so a
 *   restarted worker takes its predecessor's name and PCP archives and derived metrics
 *   keep working (cluster.worker.id only grows);
 * - `app.instance<n>` under pm2 (NODE_APP_INSTANCE);
 * - that name plus `.pid<pid>` when another live process already holds it.
 */
export function processFileName(
  base: string,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
  workerId: number | undefined = clusterWorkerId(),
): string {
  const take = (name: string) =>
    !ownedByOtherLiveProcess(readFileHeader(path.join(dir, name))) && claimName(dir, name, pid);
  let name = base;
  if (workerId !== undefined) {
    for (let k = 1; k <= MAX_WORKER_SLOTS; k++) {
      if (take(`${base}.worker${k}`)) return `${base}.worker${k}`;
    }
    name = `${base}.worker${workerId}`;
  } else if (env.NODE_APP_INSTANCE && /^\d+$/.test(env.NODE_APP_INSTANCE)) {
    name = `${base}.instance${env.NODE_APP_INSTANCE}`;
  }
  return take(name) ? name : pidName(dir, name, pid);
}

/**
 * The file name of a worker thread's own registry: the process's name plus `.thread<id>`
 * (`app.thread1`, `app.worker2.thread1`). A worker thread has its own globalThis, so its own
 * default registry; on the process's name it would be a second writer of the main thread's
 * file. Thread ids are unique in a process and the process's name in the directory, so the
 * name is free unless a planted lock holds it, when the pid is added as for processes.
 */
export function threadFileName(
  processName: string,
  threadId: number,
  dir: string,
  pid: number = process.pid,
): string {
  const name = `${processName}.thread${threadId}`;
  return claimName(dir, name, pid) ? name : pidName(dir, name, pid);
}

/** A name another live process holds, made this pid's own: `<name>.pid<pid>`, claimed. */
function pidName(dir: string, name: string, pid: number): string {
  const own = `${name}.pid${pid}`;
  claimName(dir, own, pid);
  return own;
}

/**
 * Removes the files of this process's worker threads (`<name>.thread<id>…`, written by this
 * pid) and their locks, or of one thread if `threadId` is given: called as a thread ends and
 * as the main thread exits, since a thread that is terminated, or still running when the
 * process exits, runs no exit hook of its own.
 */
export function removeThreadFiles(
  dir: string,
  name: string,
  pid: number = process.pid,
  threadId?: number,
): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `${name}.thread${threadId ?? ''}`;
  const rest = threadId === undefined ? /^\d/ : /^(?:$|\.)/;
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !rest.test(entry.slice(prefix.length))) continue;
    if (readFileHeader(path.join(dir, entry))?.pid !== pid) continue;
    try {
      fs.unlinkSync(path.join(dir, entry));
    } catch {
      // already gone
    }
    releaseName(dir, entry, pid);
  }
}

function lockPath(dir: string, name: string): string {
  return path.join(dir, `.${name}.lock`);
}

/**
 * Takes `.<name>.lock` for this pid if it is free or its process is dead. Returns false only
 * when another live process holds it; a directory that cannot hold locks claims nothing.
 */
export function claimName(dir: string, name: string, pid: number = process.pid): boolean {
  const lock = lockPath(dir, name);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx', 0o644);
      try {
        fs.writeSync(fd, String(pid));
      } finally {
        fs.closeSync(fd);
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true;
    }
    const owner = lockOwner(lock);
    if (owner === pid) return true;
    // Unreadable: released meanwhile, so try again; or not a regular file (a planted link or
    // FIFO), which after the last attempt counts as held.
    if (Number.isNaN(owner)) continue;
    // An empty lock is being written by its owner this instant: treat it as held.
    if (!(owner > 0) || isAlive(owner)) return false;
    try {
      fs.unlinkSync(lock);
    } catch {
      // someone else took it over first: the next attempt sees theirs
    }
  }
  return false;
}

/** Gives the name back (at exit), if this pid holds it. */
export function releaseName(dir: string, name: string, pid: number = process.pid): void {
  const lock = lockPath(dir, name);
  try {
    if (lockOwner(lock) === pid) fs.unlinkSync(lock);
  } catch {
    // already gone
  }
}

/** Whether a directory entry is the app's file or one of its processes' (`app`, `app.*`). */
function belongsTo(entry: string, base: string): boolean {
  return entry === base || entry.startsWith(`${base}.`);
}

/**
 * Removes the app's files whose process has died (PROCESS flag, pid gone), and their
 * leftover temporaries. Returns the names removed. Files of other users are left alone.
 */
export function removeDeadFiles(dir: string, base: string): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const file = path.join(dir, entry);
    if (entry.startsWith('.')) {
      // `.name.<pid>.<12 hex digits>.tmp`: a publish cut short by the process dying (older
      // versions wrote `.name.<pid>.tmp`); `.name.lock`: its claim. The random part has a
      // fixed length so that, all digits by chance, it is never taken for the pid.
      const tmp =
        /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(entry) ?? /^\.(.+)\.(\d+)\.tmp$/.exec(entry);
      const lock = /^\.(.+)\.lock$/.exec(entry);
      const owner = tmp ? Number(tmp[2]) : lock ? lockOwner(file) : Number.NaN;
      const of = tmp?.[1] ?? lock?.[1];
      if (of === undefined || !belongsTo(of, base) || !(owner > 0)) continue;
      if (owner === process.pid || isAlive(owner)) continue;
    } else if (!belongsTo(entry, base) || !ownedByDeadProcess(readFileHeader(file))) {
      continue;
    }
    try {
      fs.unlinkSync(file);
      removed.push(entry);
    } catch {
      // another user's file, or already gone
    }
  }
  return removed;
}

/**
 * The pid in a lock file; NaN if it cannot be read (gone, or not a regular file: a lock is
 * read without following links or waiting on a FIFO) or holds no number yet.
 */
function lockOwner(file: string): number {
  const bytes = readRegularFile(file, 32);
  return bytes === null ? Number.NaN : Number(Buffer.from(bytes).toString('latin1'));
}

/**
 * A cluster id for a new file that no other file in the directory uses: pmdammv gives two
 * files with one cluster the same metric ids, so their values would be mixed up.
 */
export function freeCluster(dir: string, name: string): number {
  const taken = new Set<number>();
  try {
    for (const entry of fs.readdirSync(dir)) {
      if (entry.startsWith('.') || entry === name) continue;
      const h = readFileHeader(path.join(dir, entry));
      if (h && !ownedByDeadProcess(h)) taken.add(h.cluster);
    }
  } catch {
    // no directory yet: nothing to avoid
  }
  const id = allocateId(name, 1, Limits.MAX_SAFE_CLUSTER, taken);
  return id > 0 ? id : allocateId(name, 1, Limits.MAX_SAFE_CLUSTER, new Set());
}
