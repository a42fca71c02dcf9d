// Faults of our own file, survived by a real app under the agent: deleted, truncated or
// replaced by a symlink while running; symlinks and FIFOs planted where the agent writes or
// reads. Nothing is ever written through a link, nothing blocks the app, and real PCP shows
// every value counted once the file is published again.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { readMmvFile } from '../src/mmv/reader';
import { ROOT } from './support/app';
import {
  ask,
  cleanUp,
  expectOwnExit,
  faultApp,
  pcpValue,
  waitForPcpValue,
  warningCodes,
} from './support/faults';
import { describePcp, makePcpTmpDir } from './support/pcp';

afterEach(cleanUp);

/** A file someone cares about, outside the MMV directory, and a path that must stay absent. */
function victims(tmp: string): { file: string; absent: string } {
  const file = path.join(tmp, 'precious');
  fs.writeFileSync(file, 'precious');
  return { file, absent: path.join(tmp, 'never-created') };
}

function expectUntouched(v: { file: string; absent: string }): void {
  expect(fs.readFileSync(v.file, 'utf8')).toBe('precious');
  expect(fs.existsSync(v.absent)).toBe(false);
}

describePcp('our file, changed by someone else while the app runs', () => {
  it('deleted: published again at the next flush, with every value', async () => {
    const run = faultApp('deleted');
    await run.line(/^READY deleted published=true/);
    await ask(run, 'inc 3', /^COUNTED 3$/);
    await waitForPcpValue(run.pcpTmpDir, 'mmv.deleted.app.work', 3);
    fs.unlinkSync(path.join(run.mmvDir, 'deleted'));
    await ask(run, 'inc 4', /^COUNTED 7$/);
    await waitForPcpValue(run.pcpTmpDir, 'mmv.deleted.app.work', 7);
    expect(await pcpValue(run.pcpTmpDir, 'mmv.deleted.pcp_agent.errors')).toBe(1);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual(['PCP_AGENT_WARN_REPUBLISH']);
    expect(run.files()).toEqual([]);
  });

  it.each([
    ['to nothing', 0],
    ['to half its size', 0.5],
  ])('truncated %s: detected and replaced by a whole file, with every value', async (_, part) => {
    const run = faultApp('cut');
    await run.line(/^READY cut published=true/);
    await ask(run, 'inc 3', /^COUNTED 3$/);
    await waitForPcpValue(run.pcpTmpDir, 'mmv.cut.app.work', 3);
    const file = path.join(run.mmvDir, 'cut');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size * part));
    await ask(run, 'inc 4', /^COUNTED 7$/);
    await waitForPcpValue(run.pcpTmpDir, 'mmv.cut.app.work', 7);
    expect(await pcpValue(run.pcpTmpDir, 'mmv.cut.pcp_agent.errors')).toBe(1);
    expect(readMmvFile(file).pid).toBe(run.child.pid);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual(['PCP_AGENT_WARN_REPUBLISH']);
  });

  it('replaced by a symlink: the link is replaced, never written through', async () => {
    const tmp = makePcpTmpDir();
    const v = victims(tmp);
    const run = faultApp('swapped', { pcpTmpDir: tmp });
    await run.line(/^READY swapped published=true/);
    await ask(run, 'inc 3', /^COUNTED 3$/);
    const file = path.join(run.mmvDir, 'swapped');
    fs.unlinkSync(file);
    fs.symlinkSync(v.file, file);
    await ask(run, 'inc 4', /^COUNTED 7$/);
    await waitForPcpValue(tmp, 'mmv.swapped.app.work', 7);
    expect(fs.lstatSync(file).isFile()).toBe(true);
    // Once more, with a link to a path that does not exist.
    fs.unlinkSync(file);
    fs.symlinkSync(v.absent, file);
    await ask(run, 'inc 5', /^COUNTED 12$/);
    await waitForPcpValue(tmp, 'mmv.swapped.app.work', 12);
    expectUntouched(v);
    // Two losses, each counted and republished; the warning is logged once per process.
    expect(await pcpValue(tmp, 'mmv.swapped.pcp_agent.errors')).toBe(2);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual(['PCP_AGENT_WARN_REPUBLISH']);
  });
});

describePcp('links and special files planted in the MMV directory', () => {
  it('a symlink at the target path before start: replaced by our file, never followed', async () => {
    const tmp = makePcpTmpDir();
    const v = victims(tmp);
    const mmv = path.join(tmp, 'mmv');
    fs.symlinkSync(v.file, path.join(mmv, 'planted'));
    fs.symlinkSync(v.absent, path.join(mmv, 'dangling'));
    const first = faultApp('planted', { pcpTmpDir: tmp });
    const second = faultApp('dangling', { pcpTmpDir: tmp });
    expect(await first.line(/^READY/)).toBe('READY planted published=true');
    expect(await second.line(/^READY/)).toBe('READY dangling published=true');
    await ask(first, 'inc 3', /^COUNTED 3$/);
    await ask(second, 'inc 4', /^COUNTED 4$/);
    await waitForPcpValue(tmp, 'mmv.planted.app.work', 3);
    await waitForPcpValue(tmp, 'mmv.dangling.app.work', 4);
    for (const name of ['planted', 'dangling']) {
      expect(fs.lstatSync(path.join(mmv, name)).isFile()).toBe(true);
    }
    expectUntouched(v);
    await expectOwnExit(first);
    await expectOwnExit(second);
    expect([...warningCodes(first), ...warningCodes(second)]).toEqual([]);
  });

  it('symlinks at temporary paths: never followed (temporaries have unguessable names)', async () => {
    const tmp = makePcpTmpDir();
    const v = victims(tmp);
    const run = faultApp('tmplink', { pcpTmpDir: tmp });
    await run.line(/^READY tmplink published=true/);
    const pid = run.child.pid;
    // Every name an attacker could predict: the pid alone, and the pid with a guessed suffix.
    for (const guess of [`.tmplink.${pid}.tmp`, `.tmplink.${pid}.000000000000.tmp`]) {
      fs.symlinkSync(v.file, path.join(run.mmvDir, guess));
    }
    fs.symlinkSync(v.absent, path.join(run.mmvDir, `.tmplink.${pid}.ffffffffffff.tmp`));
    // A new instance makes a new layout: the whole file is written to a temporary again.
    await ask(run, 'job nightly', /^JOB nightly 1$/);
    await waitForPcpValue(tmp, 'mmv.tmplink.app.jobs', 1, 'nightly');
    expectUntouched(v);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual([]);
  });

  it('a FIFO at the target path: replaced, and it never blocks the app', async () => {
    const tmp = makePcpTmpDir();
    execFileSync('mkfifo', [path.join(tmp, 'mmv', 'fifo')]);
    const run = faultApp('fifo', { pcpTmpDir: tmp });
    expect(await run.line(/^READY/)).toBe('READY fifo published=true');
    await ask(run, 'inc 3', /^COUNTED 3$/);
    await waitForPcpValue(tmp, 'mmv.fifo.app.work', 3);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual([]);
  });

  it.each([
    ['a FIFO', (lock: string) => execFileSync('mkfifo', [lock])],
    ['a symlink', (lock: string, target: string) => fs.symlinkSync(target, lock)],
  ])(
    '%s at the lock path: the name counts as taken, nothing blocks or is followed',
    async (_, plant) => {
      const tmp = makePcpTmpDir();
      const v = victims(tmp);
      const lock = path.join(tmp, 'mmv', '.locked.lock');
      fs.writeFileSync(v.file, String(process.pid)); // a live pid, were the link followed
      plant(lock, v.file);
      const run = faultApp('locked', { pcpTmpDir: tmp });
      const pid = run.child.pid;
      expect(await run.line(/^READY/)).toBe(`READY locked.pid${pid} published=true`);
      await ask(run, 'inc 3', /^COUNTED 3$/);
      await waitForPcpValue(tmp, `mmv.locked.pid${pid}.app.work`, 3);
      await expectOwnExit(run);
      expect(fs.readFileSync(v.file, 'utf8')).toBe(String(process.pid));
      expect(fs.lstatSync(lock).isFile()).toBe(false); // left alone
      expect(warningCodes(run)).toEqual([]);
    },
  );
});

it("the cleanup of dead processes' files never blocks on a FIFO planted as a lock or file", () => {
  // removeDeadFiles runs at every start and every minute, reading the pids in lock files. It
  // runs in a child, since a read that blocks would block the test runner too.
  const dir = path.join(makePcpTmpDir(), 'mmv');
  try {
    execFileSync('mkfifo', [path.join(dir, '.app.lock')]);
    execFileSync('mkfifo', [path.join(dir, 'app')]);
    const naming = path.join(ROOT, 'dist', 'src', 'file', 'naming.js');
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `console.log(JSON.stringify(require(${JSON.stringify(naming)}).removeDeadFiles(${JSON.stringify(dir)}, 'app')))`,
      ],
      { timeout: 10_000, encoding: 'utf8' },
    );
    expect(out.trim()).toBe('[]');
    expect(fs.readdirSync(dir).sort()).toEqual(['.app.lock', 'app']);
  } finally {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});
