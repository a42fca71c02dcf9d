import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDump, formatJson } from '../src/cli/dump';
import { formatList, listMmvFiles, pidAlive } from '../src/cli/list';
import { type CliIo, runCli } from '../src/cli/run';
import { readMmv } from '../src/mmv/reader';
import { privateBuild } from './support/build';
import { buildV1, buildV2, GEN, LONG_INSTANCE } from './support/handmade-mmv';

/** A pid that existed a moment ago and has exited since. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

// $PCP_TMP_DIR with mmv/ holding: app (v1, this process, PROCESS flag), other (v3, a dead
// pid), broken (bad magic), and two things list must skip: a dot-file and a directory.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-cli-'));
const mmv = path.join(tmp, 'mmv');
const dead = deadPid();
fs.mkdirSync(mmv);
fs.writeFileSync(path.join(mmv, 'app'), buildV1({ pid: process.pid, flags: 0x2 }).bytes);
const v3 = buildV2({ labels: true }).buf.i32(32, dead);
fs.writeFileSync(path.join(mmv, 'other'), v3.bytes);
fs.writeFileSync(path.join(mmv, 'broken'), Buffer.alloc(64, 0x41));
fs.writeFileSync(path.join(mmv, '.app.tmp'), buildV1().bytes);
fs.mkdirSync(path.join(mmv, 'subdir'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A scratch directory removed after the file's tests. */
function scratch(prefix: string): string {
  return fs.mkdtempSync(path.join(tmp, prefix));
}

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { PCP_TMP_DIR: tmp },
  };
  const code = runCli(args, io);
  return { code, stdout, stderr };
}

describe('pcp-agent dump', () => {
  it('prints header, TOC, indoms, metrics, values and strings of a file given by path', () => {
    const r = run('dump', path.join(mmv, 'app'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    expect(out).toContain(`MMV file   = ${path.join(mmv, 'app')}`);
    expect(out).toContain('Version    = 1');
    expect(out).toContain(`Process    = ${process.pid}`);
    expect(out).toContain('Cluster    = 17');
    expect(out).toContain('Flags      = 0x2 (process)');
    expect(out).toContain('TOC[3]: offset 88, values (type 4) at offset 624 (4 entries)');
    expect(out).toContain('[5/120] 2 instances, starting at offset 152');
    expect(out).toContain('shorttext=Colours');
    expect(out).toContain('instance [1 or "blue"] at offset 232');
    expect(out).toContain('  [1/312] hits\n       type=u64 (0x3), sem=counter (0x1)');
    expect(out).toContain('units=count (0x100000)');
    expect(out).toContain('units=millisec (0x1002000)');
    expect(out).toContain('helptext=Every hit since the process started.');
    expect(out).toContain('[1/624] hits = 9223372036854775813');
    expect(out).toContain('[2/656] ops[0 or "red"] = -3');
    expect(out).toContain('[2/688] ops[1 or "blue"] = 7');
    expect(out).toContain('[3/720] state = "running"');
    expect(out).not.toContain('Warnings');
  });

  it('looks a bare name up in $PCP_TMP_DIR/mmv', () => {
    const byName = run('dump', 'app');
    expect(byName.code).toBe(0);
    expect(byName.stdout).toBe(run('dump', path.join(mmv, 'app')).stdout);
  });

  it('prints labels of a version 3 file', () => {
    const r = run('dump', 'other');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Labels (4):');
    expect(r.stdout).toContain('{"unit":"bytes"}\n       flags=0x90 (item,optional), identity=10');
    expect(r.stdout).toContain('flags=0x20 (instances), identity=9, instance=200');
    expect(r.stdout).toContain('(payload is not a JSON object)');
    expect(r.stdout).toContain(`x.size[200 or "${LONG_INSTANCE}"] = 9007199254740993`);
    expect(r.stdout).toContain(' = 0.25');
  });

  it('--json prints the decoded structure with 64-bit values as strings', () => {
    const r = run('dump', 'app', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.version).toBe(1);
    expect(json.generation1).toBe(GEN.toString());
    expect(json.pid).toBe(process.pid);
    expect(json.metrics.map((m: { name: string }) => m.name)).toEqual(['hits', 'ops', 'state']);
    expect(json.values[0]).toMatchObject({
      metric: 'hits',
      value: '9223372036854775813',
      extra: '0',
    });
    expect(json.values[1]).toMatchObject({ instance: 'red', value: -3 });
    expect(json.values[3]).toMatchObject({ value: 'running', extra: '752' });
  });

  it('shows a file being written as unstable', () => {
    const b = buildV1().u64(16, 0);
    expect(formatDump(readMmv(b.bytes))).toContain(
      'Unstable   = generation numbers differ (being written; pmdammv would skip it)',
    );
  });

  it('keeps NaN and Infinity in JSON as names instead of null', () => {
    const { buf, at } = buildV2();
    buf.f32(at(240), Number.NaN);
    expect(JSON.parse(formatJson(readMmv(buf.bytes))).values[2].value).toBe('NaN');
  });

  it('fails with exit 1 and a one-line PCP_AGENT_ERR_IO message for a missing file', () => {
    const r = run('dump', 'nosuch');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `pcp-agent: PCP_AGENT_ERR_IO: cannot read ${path.join(mmv, 'nosuch')}: ENOENT\n`,
    );
  });

  it('fails with exit 1 and a one-line PCP_AGENT_ERR_FORMAT message for a malformed file', () => {
    const r = run('dump', 'broken');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `pcp-agent: PCP_AGENT_ERR_FORMAT: ${path.join(mmv, 'broken')}: bad magic "AAAA" at offset 0, expected "MMV\\u0000"\n`,
    );
  });
});

describe('pcp-agent list', () => {
  it('lists every MMV file with version, pid liveness, PROCESS flag and counts', () => {
    const r = run('list');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${mmv}:`);
    expect(lines[1]!.split(/\s+/)).toEqual([
      'NAME',
      'VERSION',
      'PID',
      'ALIVE',
      'PROCESS',
      'STABLE',
      'METRICS',
      'VALUES',
    ]);
    expect(lines[2]!.split(/\s+/)).toEqual([
      'app',
      '1',
      String(process.pid),
      'yes',
      'yes',
      'yes',
      '3',
      '4',
    ]);
    expect(lines[3]).toMatch(/^broken\s+PCP_AGENT_ERR_FORMAT: .*bad magic/);
    expect(lines[4]!.split(/\s+/)).toEqual([
      'other',
      '3',
      String(dead),
      'no',
      'no',
      'yes',
      '2',
      '3',
    ]);
    expect(lines).toHaveLength(5);
  });

  it('skips dot-files and anything that is not a regular file', () => {
    const names = listMmvFiles(mmv).map((e) => e.name);
    expect(names).toEqual(['app', 'broken', 'other']);
  });

  it('--dir lists another directory', () => {
    const other = scratch('dir-');
    fs.writeFileSync(path.join(other, 'only'), buildV1().bytes);
    const r = run('list', '--dir', other);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${other}:\\n`));
    expect(r.stdout).toMatch(/\nonly\s+1\s+4242\s/);
    expect(r.stdout).not.toContain('app');
  });

  it('says so when the directory holds no MMV files', () => {
    const empty = scratch('empty-');
    expect(run('list', '--dir', empty).stdout).toBe(`${empty}: no MMV files\n`);
  });

  it('fails with exit 1 when the directory cannot be read', () => {
    const r = run('list', '--dir', path.join(tmp, 'nosuch'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pcp-agent: PCP_AGENT_ERR_IO: cannot read directory .*: ENOENT\n$/);
  });

  it('formats a pid that is not a real process id as unknown', () => {
    const out = formatList('/d', [
      {
        name: 'x',
        path: '/d/x',
        version: 1,
        pid: 0,
        alive: pidAlive(0),
        process: false,
        stable: true,
        metrics: 0,
        values: 0,
      },
    ]);
    expect(out.split('\n')[2]!.split(/\s+/)).toEqual(['x', '1', '0', '-', 'no', 'yes', '0', '0']);
  });
});

describe('pidAlive', () => {
  it('is true for this process and false for an exited one', () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(dead)).toBe(false);
  });

  it('never signals a process group: 0 and negative pids are unknown', () => {
    expect(pidAlive(0)).toBeNull();
    expect(pidAlive(-1)).toBeNull();
  });
});

describe('pcp-agent usage', () => {
  it('help prints usage on stdout with exit 0', () => {
    for (const arg of ['help', '--help', '-h']) {
      const r = run(arg);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: pcp-agent <command>/);
      expect(r.stdout).toContain(mmv);
    }
  });

  it.each([
    [[], 'missing command'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['dump'], 'dump needs exactly one file name or path'],
    [['dump', 'a', 'b'], 'dump needs exactly one file name or path'],
    [['dump', 'app', '--bogus'], "Unknown option '--bogus'"],
    [['list', 'extra'], 'list takes no arguments, got "extra"'],
    [['list', '--dir'], "Option '--dir <value>' argument missing"],
  ])('%j is a usage error with exit 2', (args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Run "pcp-agent help" for usage.');
  });
});

describe('the compiled pcp-agent binary', () => {
  // A private build: rebuilding dist/ in place broke other test files' processes loading it.
  const main = path.join(tmp, 'build', 'src', 'cli', 'main.js');
  let tscOutput = '';

  beforeAll(() => {
    tscOutput = privateBuild(path.join(tmp, 'build'));
  }, 120_000);

  const node = (...args: string[]) =>
    spawnSync(process.execPath, [main, ...args], {
      env: { ...process.env, PCP_TMP_DIR: tmp },
      encoding: 'utf8',
    });

  it('starts with a node shebang', () => {
    expect(fs.existsSync(main), `tsc did not emit ${main}:\n${tscOutput}`).toBe(true);
    expect(fs.readFileSync(main, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('dumps a file by name with exit 0', () => {
    const r = node('dump', 'app');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('[1/624] hits = 9223372036854775813');
  });

  it('exits 1 with one line on stderr and no stack trace for a malformed file', () => {
    const r = node('dump', 'broken');
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^pcp-agent: PCP_AGENT_ERR_FORMAT: /);
  });

  it('exits 2 on bad usage', () => {
    const r = node('dump');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('dump needs exactly one file name or path');
  });
});
