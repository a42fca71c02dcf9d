// What another process's MMV file says about its owner: read from the header alone, the way
// pmdammv decides whether a PROCESS file is live. Used to share a directory with other writers.

import * as fs from 'node:fs';
import { Flag, Header } from '../mmv/format';

const MAGIC_WORD = 0x00564d4d;
const { O_RDONLY, O_NOFOLLOW = 0, O_NONBLOCK = 0 } = fs.constants;

export interface FileHeader {
  readonly pid: number;
  readonly cluster: number;
  /** The PROCESS flag: PCP shows the file only while `pid` lives. */
  readonly process: boolean;
}

/**
 * The first `length` bytes (or fewer) of a regular file, or null: missing, a symlink (never
 * followed), or anything else planted in the directory. O_NONBLOCK because opening a FIFO
 * for reading would otherwise wait for a writer, and with it the app.
 */
export function readRegularFile(file: string, length: number): Uint8Array | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return null;
    const bytes = new Uint8Array(length);
    const n = fs.readSync(fd, bytes, 0, length, 0);
    return bytes.subarray(0, n);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** The header of the MMV file at a path, or null if there is none or it is not an MMV file. */
export function readFileHeader(file: string): FileHeader | null {
  const header = readRegularFile(file, Header.CLUSTER + 4);
  if (header === null || header.length < Header.CLUSTER + 4) return null;
  const view = new DataView(header.buffer, header.byteOffset, header.length);
  if (view.getUint32(Header.MAGIC, true) !== MAGIC_WORD) return null;
  return {
    pid: view.getInt32(Header.PID, true),
    cluster: view.getInt32(Header.CLUSTER, true),
    process: (view.getUint32(Header.FLAGS, true) & Flag.PROCESS) !== 0,
  };
}

/** Whether a process exists (EPERM means it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  if (!(Number.isInteger(pid) && pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a header belongs to a live process other than this one, which PCP would read. */
export function ownedByOtherLiveProcess(h: FileHeader | null): h is FileHeader {
  return h?.process === true && h.pid !== process.pid && isAlive(h.pid);
}

/** Whether a header is a PROCESS file of a dead process: PCP ignores it, and it can go. */
export function ownedByDeadProcess(h: FileHeader | null): boolean {
  return h?.process === true && h.pid > 0 && h.pid !== process.pid && !isAlive(h.pid);
}
