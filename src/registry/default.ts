// The process's default registry: one per process, shared by the preload agent, the
// decorators and the app's own code, even when two copies of the library are loaded. A worker
// thread (its own globalThis) gets one of its own, in a file of its own.

import diagnostics from 'node:diagnostics_channel';
import {
  getEnvironmentData,
  isMainThread,
  setEnvironmentData,
  threadId,
  type Worker,
} from 'node:worker_threads';
import {
  appName,
  freeCluster,
  processFileName,
  releaseName,
  removeDeadFiles,
  removeThreadFiles,
  threadFileName,
} from '../file/naming';
import { makeMmvDirectory, mmvDir } from '../file/paths';
import { Registry, type RegistryOptions } from './registry';

const SLOT = Symbol.for('pcp-agent.defaultRegistry');

/** Where Node announces each new Worker (since 16.17): `{ worker }`. */
const WORKER_CREATED = 'worker_threads';

type Slot = { [SLOT]?: Registry };

/**
 * What a worker thread's default registry takes from the main thread's, as environment data
 * (copied into each Worker when it is created): the process's file name, its directory and
 * flush interval. Under the agent these are the agent's (PCP_AGENT_NAME, PCP_AGENT_DIR, ...).
 */
const SHARED = 'pcp-agent.defaultRegistry';

interface Shared {
  name: string;
  dir: string;
  flushInterval: number | undefined;
}

function sharedByMainThread(): Shared | undefined {
  try {
    const s = getEnvironmentData(SHARED) as Partial<Shared> | undefined;
    return typeof s?.name === 'string' && typeof s.dir === 'string' ? (s as Shared) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The process's default registry, created and started on first use. Its name is the app's
 * (package.json, else the script), with a per-process suffix when several processes of the
 * app run (`app.worker2`, `app.pid1234`), and files of the app's dead processes are removed.
 * Options apply only when this call creates it; `name` is the app part of the name.
 *
 * A worker thread has its own globalThis, so its own default registry, in a file of its own:
 * `<the process's name>.thread<threadId>` (`app.thread1`), in the main thread's directory,
 * when the main thread made its default registry before the Worker was created (the agent
 * does at start-up); else named as above from this call's options, plus `.thread<id>`.
 */
export function defaultRegistry(options: Partial<RegistryOptions> = {}): Registry {
  const slot = globalThis as Slot;
  const existing = slot[SLOT];
  if (existing) return existing;
  const shared = isMainThread || options.name !== undefined ? undefined : sharedByMainThread();
  const dir = options.dir ?? shared?.dir ?? mmvDir();
  const base = options.name ?? appName();
  if (shared === undefined) removeDeadFiles(dir, base);
  try {
    makeMmvDirectory(dir);
  } catch {
    // publishing will report it
  }
  const processName = shared?.name ?? processFileName(base, dir);
  const name = isMainThread ? processName : threadFileName(processName, threadId, dir);
  const flushInterval = options.flushInterval ?? shared?.flushInterval;
  if (isMainThread) {
    try {
      setEnvironmentData(SHARED, { name, dir, flushInterval } satisfies Shared);
    } catch {
      // worker threads then name their files from their own options
    }
  }
  process.once('exit', () => {
    releaseName(dir, name);
    // Threads still running now ran no exit hook of their own.
    if (isMainThread) removeThreadFiles(dir, name);
  });
  removeThreadFileAtItsEnd(dir, processName);
  const registry = new Registry({
    ...options,
    ...(flushInterval === undefined ? {} : { flushInterval }),
    name,
    dir,
    cluster: options.cluster ?? freeCluster(dir, name),
  });
  slot[SLOT] = registry;
  return registry.start();
}

/**
 * Removes the file of each worker thread this thread creates as that thread ends,
 * terminated or not (a terminated thread runs no exit hook, and its file, flagged with this
 * live process's pid, would show its last values in PCP until the process exits). Node
 * announces each Worker a thread creates on that thread's own `worker_threads` diagnostics
 * channel; its 'exit' listener keeps nothing alive. A thread's threadId reads -1 once it has
 * exited, so it is taken at creation. `name` is the process's name, which thread files
 * extend. Threads created by a thread with no default registry are not seen here: their
 * files go at the process's exit.
 */
function removeThreadFileAtItsEnd(dir: string, name: string): void {
  const pid = process.pid;
  diagnostics.subscribe(WORKER_CREATED, (message) => {
    try {
      const worker = (message as { worker?: Worker } | null)?.worker;
      const id = worker?.threadId;
      if (typeof id !== 'number' || id < 0 || typeof worker?.once !== 'function') return;
      worker.once('exit', () => {
        try {
          removeThreadFiles(dir, name, pid, id);
        } catch {
          // best effort: the process's exit removes it too
        }
      });
    } catch {
      // a throwing subscriber would be rethrown by diagnostics_channel into the app
    }
  });
}

/** The default registry if one exists, without creating it. */
export function existingDefaultRegistry(): Registry | undefined {
  return (globalThis as Slot)[SLOT];
}
