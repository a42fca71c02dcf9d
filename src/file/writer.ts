// Puts MMV bytes on disk: a whole file published atomically (dot-named temporary, rename),
// then positioned writes of the values region into the same inode. Never follows a symlink.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Header } from '../mmv/format';
import { ownedByOtherLiveProcess, readFileHeader } from './header';
import { makeMmvDirectory } from './paths';

const { O_CREAT, O_EXCL, O_RDWR, O_NOFOLLOW } = fs.constants;

/** A generation number as PCP's C library makes it: seconds << 32 | microseconds. */
export function clockGeneration(nowMs = Date.now()): bigint {
  const seconds = Math.floor(nowMs / 1000);
  const micros = Math.floor((nowMs - seconds * 1000) * 1000);
  return (BigInt(seconds) << 32n) | BigInt(micros);
}

export class MmvFileWriter {
  readonly dir: string;
  readonly path: string;
  private readonly tmpPrefix: string;
  private fd: number | null = null;
  private ino = -1;
  private size = -1;
  private lastGeneration = 0n;

  constructor(dir: string, name: string) {
    this.dir = dir;
    this.path = path.join(dir, name);
    // pmdammv skips dot-files, so a temporary is never read half-written. The pid lets
    // removeDeadFiles clean up after a process that died mid-publish.
    this.tmpPrefix = path.join(dir, `.${name}.${process.pid}.`);
  }

  /**
   * A fresh temporary path: the random part means a link or file planted at a predictable
   * name can neither be written through nor block publishing (in a sticky directory it could
   * not even be removed).
   */
  private temporary(): string {
    // 12 hex digits, the form removeDeadFiles recognises.
    return `${this.tmpPrefix}${randomBytes(6).toString('hex')}.tmp`;
  }

  /** A generation later than any this writer used, even for two publishes in one second. */
  nextGeneration(): bigint {
    let g = clockGeneration();
    if (g <= this.lastGeneration) g = this.lastGeneration + 1n;
    this.lastGeneration = g;
    return g;
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  /**
   * Publishes a complete image whose header carries `generation` in gen1 and 0 in gen2:
   * writes it to a temporary, then gen2, then renames it over the target. The previous
   * file (still mapped by pmdammv) gets its generation cleared so pmdammv reloads.
   */
  publish(image: Uint8Array, generation: bigint): void {
    makeMmvDirectory(this.dir);
    const tmp = this.temporary();
    // O_EXCL with O_NOFOLLOW: fails rather than writing through anything already there.
    const fd = fs.openSync(tmp, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, 0o644);
    try {
      fs.fchmodSync(fd, 0o644); // the umask may have narrowed it; pmcd's user must read it
      writeFully(fd, image, 0);
      const gen2 = new Uint8Array(8);
      new DataView(gen2.buffer).setBigUint64(0, generation, true);
      writeFully(fd, gen2, Header.GEN2);
      // rename() replaces whatever is at the target, a symlink included, without following it.
      fs.renameSync(tmp, this.path);
    } catch (err) {
      fs.closeSync(fd);
      removeIfPresent(tmp);
      throw err;
    }
    const previous = this.fd;
    this.fd = fd;
    this.ino = fs.fstatSync(fd).ino;
    this.size = image.length;
    if (previous !== null) {
      invalidate(previous);
      fs.closeSync(previous);
    }
  }

  /** Writes bytes at a position of the published file: one pwrite. */
  writeAt(bytes: Uint8Array, position: number): void {
    if (this.fd === null) return;
    writeFully(this.fd, bytes, position);
  }

  /**
   * Whether the published file is still the one at the path, whole: not deleted, replaced,
   * or truncated (a truncated file has a zeroed or missing header, which pmdammv rejects;
   * writing the values into it would only extend it with zeros).
   *
   * One lstat of the path, at every flush: the inode there is ours exactly when the path still
   * names our file (an inode is not reused while our descriptor holds it open, so a deleted
   * file cannot come back under its number), and its size is then our file's size.
   */
  isIntact(): boolean {
    if (this.fd === null) return false;
    try {
      const st = fs.lstatSync(this.path, { throwIfNoEntry: false });
      return st?.isFile() === true && st.ino === this.ino && st.size === this.size;
    } catch {
      return false;
    }
  }

  /**
   * Changes the directory's modification time without touching the file: a pmdammv that
   * sees it in whole seconds (older versions compare seconds only; any version on a file
   * system that keeps whole seconds) misses a file that appeared in the second of its last
   * look, and this makes it look again. Best effort: it fails only where publishing would.
   */
  touchDirectory(): void {
    const tmp = this.temporary();
    try {
      fs.closeSync(fs.openSync(tmp, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, 0o644));
      removeIfPresent(tmp);
    } catch {
      // nothing to undo
    }
  }

  /**
   * The pid of another live process whose MMV file (with the PROCESS flag) is now at our path,
   * or null: nothing there, not an MMV file, ours, or its process is dead.
   */
  foreignOwner(): number | null {
    const h = readFileHeader(this.path);
    return ownedByOtherLiveProcess(h) ? h.pid : null;
  }

  /** Removes the file if it is still ours, and closes it. Safe to call twice. */
  remove(): void {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    try {
      const st = fs.lstatSync(this.path);
      if (st.ino === this.ino) fs.unlinkSync(this.path);
    } catch {
      // already gone
    }
    try {
      invalidate(fd);
    } catch {
      // best effort: the file is unlinked either way
    }
    fs.closeSync(fd);
  }
}

function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}

/** Zeroes gen1 and gen2 so a reader holding the old mapping sees the file is no longer valid. */
function invalidate(fd: number): void {
  writeFully(fd, new Uint8Array(16), Header.GEN1);
}

function removeIfPresent(p: string): void {
  try {
    fs.unlinkSync(p); // unlink removes a symlink itself, never its target
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
