// Which file name a process publishes under: the app's name made valid for pmdammv, then,
// when several processes of one app run, a suffix per process; and the cleanup of files whose
// processes died (PCP ignores them already; this keeps restarts from piling them up).

import cluster from 'node:cluster';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Limits } from '../mmv/format';
import { allocateId } from '../mmv/ids';
import { isAlive, ownedByDeadProcess, ownedByOtherLiveProcess, readFileHeader } from './header';

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

/** Where this process sits among several of the same app, if it is one of several. */
export function processSuffix(
  env: NodeJS.ProcessEnv = process.env,
  workerId: number | undefined = clusterWorkerId(),
): string | undefined {
  if (workerId !== undefined) return `worker${workerId}`;
  // pm2 sets NODE_APP_INSTANCE (0, 1, …) in each instance of a cluster- or fork-mode app.
  if (env.NODE_APP_INSTANCE && /^\d+$/.test(env.NODE_APP_INSTANCE))
    return `instance${env.NODE_APP_INSTANCE}`;
  return undefined;
}

/**
 * The file name for this process: `app`, `app.worker3` in a cluster worker, `app.instance1`
 * under pm2, or `app.pid1234` when another live process already publishes `app`.
 */
export function processFileName(
  base: string,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
  workerId: number | undefined = clusterWorkerId(),
): string {
  const suffix = processSuffix(env, workerId);
  const name = suffix ? `${base}.${suffix}` : base;
  if (ownedByOtherLiveProcess(readFileHeader(path.join(dir, name)))) return `${name}.pid${pid}`;
  return name;
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
      // `.name.<pid>.tmp`: a publish cut short by the process dying.
      const m = /^\.(.+)\.(\d+)\.tmp$/.exec(entry);
      if (!m || !belongsTo(m[1], base) || Number(m[2]) === process.pid || isAlive(Number(m[2])))
        continue;
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
