// What another process's MMV file says about its owner: read from the header alone, the way
// pmdammv decides whether a PROCESS file is live. Used to share a directory with other writers.

import * as fs from 'node:fs';
import { Flag, Header } from '../mmv/format';

const MAGIC_WORD = 0x00564d4d;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

export interface FileHeader {
  readonly pid: number;
  readonly cluster: number;
  /** The PROCESS flag: PCP shows the file only while `pid` lives. */
  readonly process: boolean;
}

/** The header of the MMV file at a path, or null if there is none or it is not an MMV file. */
export function readFileHeader(file: string): FileHeader | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const header = new Uint8Array(Header.CLUSTER + 4);
    if (fs.readSync(fd, header, 0, header.length, 0) < header.length) return null;
    const view = new DataView(header.buffer);
    if (view.getUint32(Header.MAGIC, true) !== MAGIC_WORD) return null;
    return {
      pid: view.getInt32(Header.PID, true),
      cluster: view.getInt32(Header.CLUSTER, true),
      process: (view.getUint32(Header.FLAGS, true) & Flag.PROCESS) !== 0,
    };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
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
  return h !== null && h.process && h.pid !== process.pid && isAlive(h.pid);
}

/** Whether a header is a PROCESS file of a dead process: PCP ignores it, and it can go. */
export function ownedByDeadProcess(h: FileHeader | null): boolean {
  return h !== null && h.process && h.pid > 0 && h.pid !== process.pid && !isAlive(h.pid);
}
