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
