// Faults of the app's processes, judged by real PCP: killed with SIGKILL, two started with one
// name at once, restarted within one second while a pmdammv keeps running. (A SIGTERM and a
// second copy started later are in agent-lifecycle.test.ts; the naming rules in naming.test.ts.)

import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { readMmvFile } from '../src/mmv/reader';
import {
  ask,
  cleanUp,
  expectOwnExit,
  faultApp,
  onCleanup,
  pcpNames,
  pcpValue,
  waitFor,
  waitForPcpValue,
  warningCodes,
  wholeSecondPcpTmpDir,
} from './support/faults';
import { describePcp, makePcpTmpDir, pminfoArgs } from './support/pcp';

afterEach(cleanUp);

describePcp('processes', () => {
  it('SIGKILL: PCP stops showing the app, and its next start cleans up and takes the name back', async () => {
    const first = faultApp('killed');
    await first.line(/^READY killed published=true/);
    await ask(first, 'inc 5', /^COUNTED 5$/);
    await waitForPcpValue(first.pcpTmpDir, 'mmv.killed.app.work', 5);
    first.child.kill('SIGKILL');
    expect(await first.exited()).toEqual({ code: null, signal: 'SIGKILL' });
    // No exit hook ran: the file and the name's lock stay, but the PROCESS flag hides it.
    const lock = path.join(first.mmvDir, '.killed.lock');
    expect(first.files()).toEqual(['killed']);
    expect(fs.readFileSync(lock, 'utf8')).toBe(String(first.child.pid));
    expect(await pcpNames(first.pcpTmpDir, 'mmv.killed')).toEqual([]);

    const next = faultApp('killed', { pcpTmpDir: first.pcpTmpDir });
    expect(await next.line(/^READY/)).toBe('READY killed published=true');
    expect(fs.readFileSync(lock, 'utf8')).toBe(String(next.child.pid));
    expect(readMmvFile(path.join(next.mmvDir, 'killed')).pid).toBe(next.child.pid);
    await ask(next, 'inc 2', /^COUNTED 2$/);
    await waitForPcpValue(next.pcpTmpDir, 'mmv.killed.app.work', 2); // its own count, not 5
    expect(await pcpValue(next.pcpTmpDir, 'mmv.killed.pcp_agent.errors')).toBe(0);
    await expectOwnExit(next);
    expect(warningCodes(next)).toEqual([]);
    expect(fs.readdirSync(next.mmvDir)).toEqual([]); // file and lock gone
  });

  it('two processes started at once with one name: both publish, neither overwrites the other', async () => {
    const tmp = makePcpTmpDir();
    const a = faultApp('twin', { pcpTmpDir: tmp });
    const b = faultApp('twin', { pcpTmpDir: tmp });
    const names = await Promise.all([a, b].map((r) => r.line(/^READY/)));
    // Which one wins the name is a race; the other takes twin.pid<its pid>.
    const [owner, other] = names[0] === 'READY twin published=true' ? [a, b] : [b, a];
    const otherName = `twin.pid${other.child.pid}`;
    expect(names.sort()).toEqual(
      ['READY twin published=true', `READY ${otherName} published=true`].sort(),
    );
    await ask(owner, 'inc 3', /^COUNTED 3$/);
    await ask(other, 'inc 4', /^COUNTED 4$/);
    await waitForPcpValue(tmp, 'mmv.twin.app.work', 3);
    await waitForPcpValue(tmp, `mmv.${otherName}.app.work`, 4);
    const files = fs.readdirSync(path.join(tmp, 'mmv')).filter((f) => !f.startsWith('.'));
    expect(files.sort()).toEqual(['twin', otherName].sort());
    const headers = files.map((f) => readMmvFile(path.join(tmp, 'mmv', f)));
    expect(new Set(headers.map((h) => h.pid))).toEqual(new Set([a.child.pid, b.child.pid]));
    expect(new Set(headers.map((h) => h.cluster)).size).toBe(2);
    await Promise.all([expectOwnExit(a), expectOwnExit(b)]);
    expect([...warningCodes(a), ...warningCodes(b)]).toEqual([]);
    expect(fs.readdirSync(path.join(tmp, 'mmv'))).toEqual([]);
  });

  it('a restart within one second is seen by a pmdammv that keeps running', async () => {
    // pmdammv finds a new file by the directory's modification time. PCP 6.0.3 compares it to
    // the nanosecond, but older versions compare whole seconds, and on a file system with
    // whole-second times any version sees no change when the old file goes and the new one
    // comes in the same second. Such a file system is used where one can be mounted (root);
    // elsewhere the check still runs, on nanosecond times.
    const seconds = wholeSecondPcpTmpDir();
    const tmp = seconds ?? makePcpTmpDir();
    console.log(`PCP_TMP_DIR with ${seconds ? 'whole-second' : 'nanosecond'} times: ${tmp}`);
    let pmval: { last(): string | undefined } | undefined;
    for (let attempt = 1; ; attempt++) {
      const old = faultApp('again', { pcpTmpDir: tmp });
      const restarted = faultApp('again', { pcpTmpDir: tmp, preload: 'none' });
      await old.line(/^READY again published=true/);
      await restarted.line(/^WAITING/);
      // Started once the metric exists (pmval looks its name up once), and kept running.
      pmval ??= watch(tmp, 'mmv.again.app.work');
      await ask(old, 'inc 5', /^COUNTED 5$/);
      await waitFor('pmval to show 5', () => (pmval?.last() === '5' ? true : undefined));
      // Just after a second begins: the old process ends, pmdammv notices (pmval loses the
      // metric), and the new one publishes, all before the second is over.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      const second = Math.floor(Date.now() / 1000);
      await expectOwnExit(old);
      await waitFor('pmval to lose the metric', () =>
        pmval?.last() === 'error' ? true : undefined,
      );
      restarted.send('start');
      await restarted.line(/^READY again published=true/);
      if (Math.floor(Date.now() / 1000) !== second) {
        // Too slow for the premise (a busy machine): try again.
        expect(attempt, 'a restart within one second never happened').toBeLessThan(10);
        await expectOwnExit(restarted);
        continue;
      }
      await ask(restarted, 'inc 7', /^COUNTED 7$/);
      await waitFor('pmval to show the restarted process’s 7', () =>
        pmval?.last() === '7' ? true : undefined,
      );
      await expectOwnExit(restarted);
      expect(warningCodes(restarted)).toEqual([]);
      return;
    }
  }, 180_000);
});

/**
 * A pmval that keeps one pmdammv loaded (-L) and fetches a metric every 50 ms, as pmcd's
 * pmdammv would serve a monitoring tool; last() is its last value, or 'error' when the
 * metric is gone.
 */
function watch(pcpTmpDir: string, metric: string): { last(): string | undefined } {
  let last: string | undefined;
  let out = '';
  const args = pminfoArgs(['-r', '-t', '0.05', '-f', '0'], [metric]);
  const child: ChildProcess = spawn('pmval', args, {
    env: { ...process.env, PCP_TMP_DIR: pcpTmpDir, PCP_DERIVED_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => child.kill('SIGKILL'));
  const take = (d: string) => {
    out += d;
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const line of lines) {
      if (/pmFetch|No values/.test(line)) last = 'error';
      else if (/^\s+\S+\s*$/.test(line)) last = line.trim();
    }
  };
  child.stdout?.setEncoding('utf8').on('data', take);
  child.stderr?.setEncoding('utf8').on('data', take);
  return { last: () => last };
}
