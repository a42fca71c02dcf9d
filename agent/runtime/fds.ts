// Open file descriptors, from /proc/self/fd (Linux). Owns runtime.fds.open (instant) and
// runtime.fds.limit (the soft RLIMIT_NOFILE, discrete). Where /proc is missing neither is
// declared: no metric is better than a wrong one.

import { closeSync, fstatSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { Units } from '../../src/index';
import { type CollectorDefinition, declareOnce } from './collector';

const FD_DIR = '/proc/self/fd';

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * 1 if a listing of /proc/self/fd shows the descriptor it was read through (Linux does), else
 * 0: that descriptor is the lowest free one, so open() returns it just before.
 */
function listingOverhead(): number {
  const probe = openSync(FD_DIR, 'r');
  closeSync(probe);
  return readdirSync(FD_DIR).includes(String(probe)) && !isOpen(probe) ? 1 : 0;
}

/** The soft limit on open files, or null if unknown or unlimited. */
function softLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

/**
 * Open descriptors, given the size stat() reports for /proc/self/fd: since Linux 6.2 that is
 * their number (one syscall and nothing allocated, where a listing takes five and an array of
 * names); older kernels report 0, and then `listed()` counts them.
 */
export function openDescriptors(statSize: number, listed: () => number): number {
  return statSize > 0 ? statSize : listed();
}

export const fdsCollector: CollectorDefinition = {
  name: 'fds',
  start({ registry }) {
    if (process.platform !== 'linux') return null;
    let overhead: number;
    try {
      overhead = listingOverhead();
    } catch {
      return null;
    }
    const limit = softLimit();
    const m = declareOnce(registry, 'fds', () => ({
      open: registry.metric('runtime.fds.open', {
        type: 'u32',
        semantics: 'instant',
        units: Units.count(),
        help: 'Open file descriptors of the process',
      }),
      limit:
        limit === null
          ? null
          : registry.metric('runtime.fds.limit', {
              type: 'u64',
              semantics: 'discrete',
              units: Units.count(),
              help: 'Most file descriptors the process may open (soft RLIMIT_NOFILE)',
            }),
    }));
    if (limit !== null) m.limit?.set(limit);
    return {
      sample() {
        m.open.set(
          openDescriptors(statSync(FD_DIR).size, () => readdirSync(FD_DIR).length - overhead),
        );
      },
      stop() {},
    };
  },
};
