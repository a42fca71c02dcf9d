// The process's default registry: one per process, shared by the preload agent, the
// decorators and the app's own code, even when two copies of the library are loaded.

import * as fs from 'node:fs';
import {
  appName,
  freeCluster,
  processFileName,
  releaseName,
  removeDeadFiles,
} from '../file/naming';
import { mmvDir } from '../file/paths';
import { Registry, type RegistryOptions } from './registry';

const SLOT = Symbol.for('pcp-agent.defaultRegistry');

type Slot = { [SLOT]?: Registry };

/**
 * The process's default registry, created and started on first use. Its name is the app's
 * (package.json, else the script), with a per-process suffix when several processes of the
 * app run (`app.worker2`, `app.pid1234`), and files of the app's dead processes are removed.
 * Options apply only when this call creates it; `name` is the app part of the name.
 */
export function defaultRegistry(options: Partial<RegistryOptions> = {}): Registry {
  const slot = globalThis as Slot;
  const existing = slot[SLOT];
  if (existing) return existing;
  const dir = options.dir ?? mmvDir();
  const base = options.name ?? appName();
  removeDeadFiles(dir, base);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch {
    // publishing will report it
  }
  const name = processFileName(base, dir);
  process.once('exit', () => releaseName(dir, name));
  const registry = new Registry({
    ...options,
    name,
    dir,
    cluster: options.cluster ?? freeCluster(dir, name),
  });
  slot[SLOT] = registry;
  return registry.start();
}

/** The default registry if one exists, without creating it. */
export function existingDefaultRegistry(): Registry | undefined {
  return (globalThis as Slot)[SLOT];
}
