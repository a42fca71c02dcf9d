// Faults of the MMV directory, survived by a real app under the agent: missing, deleted while
// running, a file in its place, unwritable, full. The app keeps running and ends with its own
// code; the agent warns once and counts one error per fault; once the fault is cleared, real
// PCP shows every value counted, during the fault too.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import {
  ask,
  cleanUp,
  expectOwnExit,
  faultApp,
  fullableDisk,
  makeUnwritable,
  pcpNames,
  pcpValue,
  waitFor,
  waitForPcpValue,
  warningCodes,
} from './support/faults';
import { describePcp, makePcpTmpDir } from './support/pcp';

afterEach(cleanUp);

describePcp('the MMV directory', () => {
  it('missing at start: it is created (0755) and the file published, with no error', async () => {
    const tmp = makePcpTmpDir();
    const mmv = path.join(tmp, 'mmv');
    fs.rmdirSync(mmv);
    const run = faultApp('nodir', { pcpTmpDir: tmp });
    expect(await run.line(/^READY/)).toBe('READY nodir published=true');
    expect(fs.statSync(mmv).mode & 0o777).toBe(0o755);
    await ask(run, 'inc 3', /^COUNTED 3$/);
    await waitForPcpValue(tmp, 'mmv.nodir.app.work', 3);
    expect(await pcpValue(tmp, 'mmv.nodir.pcp_agent.errors')).toBe(0);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual([]);
  });

  it('deleted while running: recreated and republished at the next flush, nothing lost', async () => {
    const run = faultApp('rmdir');
    await run.line(/^READY rmdir published=true/);
    await ask(run, 'inc 3', /^COUNTED 3$/);
    await waitForPcpValue(run.pcpTmpDir, 'mmv.rmdir.app.work', 3);
    fs.rmSync(run.mmvDir, { recursive: true });
    await ask(run, 'inc 4', /^COUNTED 7$/);
    await waitForPcpValue(run.pcpTmpDir, 'mmv.rmdir.app.work', 7);
    expect(await pcpValue(run.pcpTmpDir, 'mmv.rmdir.pcp_agent.errors')).toBe(1);
    expect(run.files()).toEqual(['rmdir']);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual(['PCP_AGENT_WARN_REPUBLISH']);
  });

  it('a file where it should be: left alone, and the metrics published once it is gone', async () => {
    const tmp = makePcpTmpDir();
    const mmv = path.join(tmp, 'mmv');
    fs.rmdirSync(mmv);
    fs.writeFileSync(mmv, 'not a directory');
    const run = faultApp('notdir', { pcpTmpDir: tmp });
    expect(await run.line(/^READY/)).toBe('READY notdir published=false');
    await ask(run, 'inc 4', /^COUNTED 4$/);
    await waitFor('the warning', () =>
      warningCodes(run).includes('PCP_AGENT_WARN_PUBLISH') ? true : undefined,
    );
    expect(fs.readFileSync(mmv, 'utf8')).toBe('not a directory');
    fs.rmSync(mmv); // the fault cleared: the next flush creates the directory and publishes
    await waitForPcpValue(tmp, 'mmv.notdir.app.work', 4);
    expect(await pcpValue(tmp, 'mmv.notdir.pcp_agent.errors')).toBe(1);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual(['PCP_AGENT_WARN_PUBLISH']);
    expect(run.stderr()).toMatch(/publishing \S+\/mmv\/notdir failed \(retried at each flush\)/);
  });

  it('unwritable: retried at each flush, counted once, published once writable', async () => {
    const tmp = makePcpTmpDir();
    const fault = makeUnwritable(tmp);
    console.log(`unwritable directory made by: ${fault.how}`);
    const run = faultApp('ro', { pcpTmpDir: tmp, nodeArgs: fault.nodeArgs });
    expect(await run.line(/^READY/)).toBe('READY ro published=false');
    await ask(run, 'inc 4', /^COUNTED 4$/);
    await waitFor('the warning', () =>
      warningCodes(run).includes('PCP_AGENT_WARN_PUBLISH') ? true : undefined,
    );
    expect(run.files()).toEqual([]);
    expect(await pcpNames(tmp, 'mmv.ro')).toEqual([]);
    fault.restore();
    await waitForPcpValue(tmp, 'mmv.ro.app.work', 4);
    await ask(run, 'inc 5', /^COUNTED 9$/);
    await waitForPcpValue(tmp, 'mmv.ro.app.work', 9);
    expect(await pcpValue(tmp, 'mmv.ro.pcp_agent.errors')).toBe(1);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual(['PCP_AGENT_WARN_PUBLISH']);
    expect(run.files()).toEqual([]);
  });

  it('full: values keep flowing into the published file, the new layout follows once space is freed', async () => {
    const tmp = makePcpTmpDir();
    const disk = fullableDisk(tmp);
    console.log(`full file system made by: ${disk.how}`);
    const run = faultApp('full', { pcpTmpDir: tmp, nodeArgs: disk.nodeArgs, env: disk.env });
    expect(await run.line(/^READY/)).toBe('READY full published=true');
    await ask(run, 'inc 3', /^COUNTED 3$/);
    await waitForPcpValue(tmp, 'mmv.full.app.work', 3);
    disk.fill();
    // A new instance needs a new layout of the whole file, which cannot be written now...
    await ask(run, 'job urgent', /^JOB urgent 1$/);
    await waitFor('the warning', () =>
      warningCodes(run).includes('PCP_AGENT_WARN_PUBLISH') ? true : undefined,
    );
    expect(run.stderr()).toMatch(/ENOSPC/);
    const publishes = await pcpValue(tmp, 'mmv.full.pcp_agent.publishes');
    // ...but the values of the layout PCP has are still kept current.
    await ask(run, 'inc 4', /^COUNTED 7$/);
    await waitForPcpValue(tmp, 'mmv.full.app.work', 7);
    expect(await pcpValue(tmp, 'mmv.full.app.jobs', 'urgent')).toBeUndefined();
    // The attempts made meanwhile (one per flush) published nothing, and count as nothing.
    expect(await pcpValue(tmp, 'mmv.full.pcp_agent.publishes')).toBe(publishes);
    expect(fs.readdirSync(run.mmvDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    disk.free();
    await waitForPcpValue(tmp, 'mmv.full.app.jobs', 1, 'urgent');
    expect(await pcpValue(tmp, 'mmv.full.app.work')).toBe(7);
    expect(await pcpValue(tmp, 'mmv.full.pcp_agent.errors')).toBe(1);
    await expectOwnExit(run);
    expect(warningCodes(run)).toEqual(['PCP_AGENT_WARN_PUBLISH']);
  });
});
