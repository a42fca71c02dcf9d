// Where MMV files live: $PCP_TMP_DIR/mmv, with PCP_TMP_DIR found the way PCP's
// pmGetConfig finds it, and a fallback for machines without PCP.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PcpTmpDir {
  /** The PCP_TMP_DIR in force. */
  dir: string;
  /** Where it came from: the environment, a pcp.conf file, or the fallback. */
  source: 'env' | 'pcp.conf' | 'fallback';
  /** The pcp.conf that was read, when source is 'pcp.conf'. */
  conf?: string;
}

/** Reads one variable from a pcp.conf-style file (`NAME=value` lines); undefined if absent. */
export function readPcpConfVariable(file: string, name: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || !line.startsWith(`${name}=`)) continue;
    let value = line.slice(name.length + 1).trim();
    if (
      value.length >= 2 &&
      (value[0] === '"' || value[0] === "'") &&
      value[value.length - 1] === value[0]
    ) {
      value = value.slice(1, -1);
    }
    return value || undefined;
  }
  return undefined;
}

/** The pcp.conf PCP reads: `$PCP_CONF`, else `$PCP_DIR/etc/pcp.conf` (/etc/pcp.conf on Linux). */
export function pcpConfPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PCP_CONF || path.join(env.PCP_DIR || '/', 'etc', 'pcp.conf');
}

/** A PCP_* setting as pmGetConfig finds it: the environment, then pcp.conf; else undefined. */
export function pcpConfigValue(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return env[name] || readPcpConfVariable(pcpConfPath(env), name);
}

/**
 * PCP_TMP_DIR as PCP finds it: the environment first, then `$PCP_CONF`, else
 * `$PCP_DIR/etc/pcp.conf` (PCP_DIR is empty on Linux, giving /etc/pcp.conf). Without PCP,
 * the fallback is the system temporary directory (`$TMPDIR`, else /tmp), as speed does.
 */
export function findPcpTmpDir(env: NodeJS.ProcessEnv = process.env): PcpTmpDir {
  const fromEnv = env.PCP_TMP_DIR;
  if (fromEnv) return { dir: fromEnv, source: 'env' };
  const conf = pcpConfPath(env);
  const fromConf = readPcpConfVariable(conf, 'PCP_TMP_DIR');
  if (fromConf) return { dir: fromConf, source: 'pcp.conf', conf };
  return { dir: env.TMPDIR || os.tmpdir(), source: 'fallback' };
}

/** The directory pmdammv reads: `$PCP_TMP_DIR/mmv`. */
export function mmvDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(findPcpTmpDir(env).dir, 'mmv');
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/**
 * Creates the MMV directory, and any missing parent, with mode 0755 whatever the umask (which
 * narrows mkdir's mode: under umask 077 it would be 0700, and pmdammv's user could not list
 * it). Directories that already exist are left as they are. Each one created is opened
 * without following a symlink and changed through its descriptor, so a symlink swapped in
 * meanwhile is never followed.
 */
export function makeMmvDirectory(dir: string): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (first === undefined) return;
  const top = path.resolve(first);
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const fd = fs.openSync(d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      fs.fchmodSync(fd, 0o755);
    } finally {
      fs.closeSync(fd);
    }
    if (d === top || path.dirname(d) === d) return;
  }
}
