// Bad input for the reader and `pcp-agent dump`: mutated and truncated versions of files our
// writer, PCP's C library and the mmv(5) table produce. Every input either decodes or fails with
// PcpAgentError PCP_AGENT_ERR_FORMAT (exit 1, one clean line); none crashes, hangs or allocates
// in proportion to a corrupted count. PCP_AGENT_FUZZ_CASES sets the case count (CI: a few
// thousand; scripts/long-tests.sh: 100,000+), PCP_AGENT_FUZZ_SEED the seed.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../src/cli/run';
import { PcpAgentError } from '../src/errors';
import { MAX_FILE_SIZE, type MmvFile, readMmv } from '../src/mmv/reader';
import { Units } from '../src/mmv/units';
import { Registry } from '../src/registry/registry';
import { buildV1, buildV2 } from './support/handmade-mmv';
import {
  CONTROL,
  caseSeed,
  decodedRecords,
  type Mutant,
  mutate,
  Rng,
  type SeedFile,
  seedFile,
} from './support/mmv-fuzz';

const CASES = Number(process.env.PCP_AGENT_FUZZ_CASES || 3000);
const SEED = Number(process.env.PCP_AGENT_FUZZ_SEED || 0x5eed_f00d) >>> 0;
/** A case that runs this long is a hang: a normal one takes well under a millisecond. */
const HANG_MS = 10_000;
const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-fuzz-reader-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- the corpus -----------------------------------------------------------------------------

/** Files our writer publishes: every version, every kind, strings, labels, instances. */
function writerFiles(): [string, Uint8Array][] {
  const dir = fs.mkdtempSync(path.join(tmp, 'writer-'));
  const out: [string, Uint8Array][] = [];
  const publish = (name: string, build: (r: Registry) => void, options = {}) => {
    const r = new Registry({ name, dir, flushInterval: 0, removeOnExit: false, ...options });
    build(r);
    r.start();
    out.push([`writer ${name} v${r.fileVersion}`, new Uint8Array(fs.readFileSync(r.path))]);
    r.stop();
  };
  publish('v1', (r) => {
    const colours = r.instanceDomain('colours', {
      instances: ['red', 'green', 'blue'],
      help: 'Colours',
      longHelp: 'The colours we count.',
    });
    r.counter('hits', { help: 'Hits so far', indom: colours }).instance('red').add(3);
    r.gauge('temp', { units: Units.per(Units.space('MiB'), 'sec') }).set(-2.5);
    r.string('state', { value: 'running', help: 'State' });
    r.timer('work', { unit: 'usec' }).record(1500);
    r.histogram('latency', { buckets: [1, 10], window: 0 }).record(4);
    for (const type of ['i32', 'u32', 'i64', 'u64', 'float', 'double'] as const) {
      r.metric(`raw.${type}`, { type, semantics: 'instant' }).set(7);
    }
  });
  publish(
    'v2',
    (r) => {
      r.counter(`long_${'m'.repeat(70)}`, { indom: [`inst_${'i'.repeat(70)}`, 'short'] });
      r.string('motto', { value: 'é'.repeat(127), longHelp: 'x'.repeat(255) });
    },
    { selfMetrics: false, process: false, sentinel: true },
  );
  publish(
    'v3',
    (r) => {
      const routes = r.instanceDomain('routes', { labels: { kind: 'http' } });
      routes.add({ name: 'GET_200', labels: { status: 200 } });
      routes.add({ name: 'POST_500', labels: { status: 500, method: 'POST' } });
      r.counter('requests', { indom: routes, labels: { unit: 'req' }, help: 'Requests' });
      r.string('version', { value: '1.2.3' });
    },
    { labels: { app: 'shop', tier: 2 }, noPrefix: true },
  );
  publish('empty', () => {}, { selfMetrics: false });
  return out;
}

/** Files PCP's own C library writes (test/c/reader_fixture.c), where gcc and libpcp_mmv exist. */
function libpcpFiles(): [string, Uint8Array][] {
  const dir = fs.mkdtempSync(path.join(tmp, 'libpcp-'));
  const exe = path.join(dir, 'reader_fixture');
  try {
    execFileSync(
      process.env.CC || 'gcc',
      [path.join(__dirname, 'c', 'reader_fixture.c'), '-o', exe, '-lpcp_mmv', '-lpcp'],
      { stdio: 'pipe' },
    );
    fs.mkdirSync(path.join(dir, 'mmv'));
    execFileSync(exe, { env: { ...process.env, PCP_TMP_DIR: dir }, stdio: 'pipe' });
  } catch {
    return []; // test/reader.test.ts insists on these in CI; here they only add variety
  }
  return ['reader_v1', 'reader_v3'].map((f) => [
    `libpcp_mmv ${f}`,
    new Uint8Array(fs.readFileSync(path.join(dir, 'mmv', f))),
  ]);
}

/** The smallest file pmdammv accepts: a header and two empty sections. */
function minimalFile(): Uint8Array {
  const b = buildV1();
  const out = b.bytes.slice(0, 72);
  const view = new DataView(out.buffer);
  view.setInt32(24, 2, true);
  view.setInt32(40, 3, true);
  view.setInt32(44, 0, true);
  view.setInt32(56, 4, true);
  view.setInt32(60, 0, true);
  return out;
}

let corpus: SeedFile[] = [];

beforeAll(() => {
  const files: [string, Uint8Array][] = [
    ...writerFiles(),
    ...libpcpFiles(),
    ['hand-built v1', buildV1().bytes],
    ['hand-built v2', buildV2().buf.bytes],
    ['hand-built v3', buildV2({ labels: true }).buf.bytes],
    ['minimal', minimalFile()],
  ];
  corpus = files.map(([name, bytes]) => seedFile(name, bytes));
}, 60_000);

// ---- the oracle -----------------------------------------------------------------------------

/**
 * Runs `fn` with a deadline the reader cannot escape: vm's timeout interrupts any JavaScript
 * still running when it fires, including our functions called from the script.
 */
const guard = vm.createContext({ fn: (): void => {} });
const guarded = new vm.Script('fn()');
function withDeadline(fn: () => void): void {
  guard.fn = fn;
  guarded.runInContext(guard, { timeout: HANG_MS });
}

/** The reader's verdict on one input, and the checks every verdict must pass. */
function checkReader(bytes: Uint8Array): MmvFile | PcpAgentError {
  let result: MmvFile | PcpAgentError | undefined;
  withDeadline(() => {
    try {
      result = readMmv(bytes);
    } catch (err) {
      if (!(err instanceof PcpAgentError)) throw err;
      result = err;
    }
  });
  if (result instanceof PcpAgentError) {
    expect(result.code).toBe('PCP_AGENT_ERR_FORMAT');
    // One line that says where: names a location and holds nothing a terminal would act on.
    expect(result.message).toMatch(/^PCP_AGENT_ERR_FORMAT: .*offset \d+/);
    expect(result.message).not.toMatch(CONTROL);
    expect(result.message).not.toContain('\n');
    return result;
  }
  const f = result!;
  // Decoding stays proportional to the input: at most one record per 4 bytes of the file
  // (each record is >= 16 bytes, and shared instance runs are capped by the file size),
  // however large the counts in it claim to be.
  expect(decodedRecords(f)).toBeLessThanOrEqual(bytes.length / 4);
  // At most five warnings per metric (type, indom, name, item, item range), fewer per other
  // record, and three about the file as a whole.
  expect(f.warnings.length).toBeLessThanOrEqual(5 * decodedRecords(f) + 3);
  for (const w of f.warnings) expect(w).not.toMatch(CONTROL);
  return f;
}

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
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
  let code = -1;
  withDeadline(() => {
    code = runCli(args, io);
  });
  return { code, stdout, stderr };
}

/** `pcp-agent dump` in-process agrees with the reader and prints only clean text. */
function checkDump(file: string, verdict: MmvFile | PcpAgentError, json: boolean): void {
  const r = cli(json ? ['dump', file, '--json'] : ['dump', file]);
  if (verdict instanceof PcpAgentError) {
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `pcp-agent: PCP_AGENT_ERR_FORMAT: ${file}: ${verdict.message.slice('PCP_AGENT_ERR_FORMAT: '.length)}\n`,
    );
    return;
  }
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  if (json) {
    const parsed = JSON.parse(r.stdout) as { metrics: unknown[]; values: unknown[] };
    expect(parsed.metrics).toHaveLength(verdict.metrics.length);
    expect(parsed.values).toHaveLength(verdict.values.length);
  } else {
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stdout).toContain(`Values (${verdict.values.length}):`);
  }
}

/** Replays one case and reports what it was, so a failure can be reproduced alone. */
function describeCase(index: number, m: Mutant & { seed: string }, err: unknown): string {
  const saved = path.join(os.tmpdir(), `pcp-agent-fuzz-case-${SEED}-${index}.mmv`);
  fs.writeFileSync(saved, m.bytes);
  return [
    `fuzz case ${index} failed (PCP_AGENT_FUZZ_SEED=${SEED}, case seed ${caseSeed(SEED, index)})`,
    `  seed file: ${m.seed}; mutations: ${m.steps.join('; ') || 'none'}`,
    `  input saved to ${saved} (${m.bytes.length} bytes): pcp-agent dump ${saved}`,
    `  replay: PCP_AGENT_FUZZ_SEED=${SEED} PCP_AGENT_FUZZ_ONLY=${index} npx vitest run test/fuzz-reader.test.ts`,
    `  ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  ].join('\n');
}

// ---- the tests ------------------------------------------------------------------------------

describe('the fuzz corpus', () => {
  it('is files the reader decodes without a warning, from every writer and version', () => {
    expect(corpus.map((s) => s.name)).toEqual(
      expect.arrayContaining(['writer v1 v1', 'writer v2 v2', 'writer v3 v3', 'hand-built v3']),
    );
    for (const s of corpus) expect(readMmv(s.bytes).warnings, s.name).toEqual([]);
    expect(corpus.reduce((n, s) => n + s.fields.length, 0)).toBeGreaterThan(500);
  });
});

describe('mutated MMV files', () => {
  const only = process.env.PCP_AGENT_FUZZ_ONLY;

  it(
    `readMmv and pcp-agent dump give a result or a clean error (${CASES} cases, seed ${SEED})`,
    () => {
      const file = path.join(tmp, 'case.mmv');
      const indices = only === undefined ? [...Array(CASES).keys()] : [Number(only)];
      const errors = new Map<string, number>();
      let decoded = 0;
      const rssBefore = process.resourceUsage().maxRSS;
      for (const index of indices) {
        const m = mutate(new Rng(caseSeed(SEED, index)), corpus);
        try {
          const verdict = checkReader(m.bytes);
          if (verdict instanceof PcpAgentError) {
            // The kind of error, without its numbers: how many different checks were reached.
            const kind = verdict.message.replace(/\d+/g, 'N').replace(/"[^"]*"/g, 'S');
            errors.set(kind, (errors.get(kind) ?? 0) + 1);
          } else {
            decoded++;
          }
          fs.writeFileSync(file, m.bytes);
          checkDump(file, verdict, index % 2 === 1);
        } catch (err) {
          throw new Error(describeCase(index, m, err));
        }
      }
      const rssGrowthMiB = (process.resourceUsage().maxRSS - rssBefore) / 1024;
      console.log(
        `fuzz-reader: ${indices.length} cases (seed ${SEED}): ${decoded} decoded, ` +
          `${indices.length - decoded} clean errors of ${errors.size} kinds; ` +
          `peak RSS grew ${rssGrowthMiB.toFixed(1)} MiB`,
      );
      // The largest input is a few KiB; a reader allocating by a corrupted count (up to 2^64)
      // would take gigabytes. 256 MiB leaves room for V8's own heap growth over the run.
      expect(rssGrowthMiB).toBeLessThan(256);
      if (only === undefined && CASES >= 1000) {
        // The mutations reach deep: files that still decode, and many different checks.
        expect(decoded).toBeGreaterThan(CASES / 20);
        expect(errors.size).toBeGreaterThan(25);
      }
    },
    // Generous: a case takes well under a millisecond; HANG_MS catches a hang in one case.
    60_000 + CASES * 20,
  );

  it('every truncation of every corpus file decodes or fails cleanly', () => {
    let n = 0;
    for (const s of corpus) {
      for (let len = 0; len <= s.bytes.length; len += len < 200 ? 1 : 7) {
        checkReader(s.bytes.subarray(0, len));
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('every count and offset field set to each boundary value decodes or fails cleanly', () => {
    const values = [
      0n,
      1n,
      0x7fff_ffffn,
      0x8000_0000n,
      0xffff_ffffn,
      10000n,
      10001n,
      (1n << 63n) - 1n,
      (1n << 64n) - 1n,
    ];
    let n = 0;
    for (const s of corpus) {
      const bytes = s.bytes.slice();
      const view = new DataView(bytes.buffer);
      for (const f of s.fields) {
        if (!/count|offset|instances|help|name|metric|indom|extra/.test(f.what)) continue;
        for (const v of [...values, BigInt(s.bytes.length)]) {
          const saved = bytes.slice(f.at, f.at + f.width);
          if (f.width === 8) view.setBigUint64(f.at, v, true);
          else view.setUint32(f.at, Number(BigInt.asUintN(32, v)), true);
          try {
            checkReader(bytes);
          } catch (err) {
            throw new Error(`${s.name}: ${f.what} at ${f.at} = ${v}: ${(err as Error).message}`);
          }
          bytes.set(saved, f.at);
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(1000);
  });
});

describe('pcp-agent dump of text with control characters', () => {
  it('escapes them in the text dump and keeps them exact in --json', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'controls-'));
    const r = new Registry({ name: 'ctl', dir, flushInterval: 0, removeOnExit: false });
    const help = 'two\nlines \x1b[31mred\x07 \u009b2J';
    r.counter('c', { help, indom: ['i\x1b]0;title\x07'] });
    r.string('s', { value: 'a\tb\rc' });
    r.start();
    const text = cli(['dump', r.path]);
    const json = cli(['dump', r.path, '--json']);
    r.stop();
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(CONTROL);
    expect(text.stdout).toContain('shorttext=two\\nlines \\u001b[31mred\\u0007 \\u009b2J\n');
    expect(text.stdout).toMatch(/\[\d+ or "i\\u001b\]0;title\\u0007"\]/);
    expect(text.stdout).toContain('= "a\\tb\\rc"\n');
    const f = JSON.parse(json.stdout) as { metrics: { name: string; shortHelp: string }[] };
    expect(f.metrics.find((m) => m.name === 'c')?.shortHelp).toBe(help);
  });
});

describe('pcp-agent dump on what is not an MMV file', () => {
  it.each([
    ['/dev/zero', 'a character device', /not a regular file/],
    [os.tmpdir(), 'a directory', /not a regular file/],
  ])('%s (%s): exit 1, no read', (file, _what, message) => {
    const r = cli(['dump', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  it('a FIFO: exit 1 without blocking on it', () => {
    const fifo = path.join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const r = cli(['dump', fifo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PCP_AGENT_ERR_IO: .*fifo: not a regular file/);
  });

  it('a file larger than any MMV file: exit 1 without reading it', () => {
    const big = path.join(tmp, 'big');
    fs.writeFileSync(big, buildV1().bytes);
    fs.truncateSync(big, MAX_FILE_SIZE + 1); // sparse: no disk used
    const r = cli(['dump', big]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PCP_AGENT_ERR_FORMAT: .*big: 268435457 bytes is too large/);
  });
});

describe('the built pcp-agent binary on mutated files', () => {
  it('exits 0 or 1 with one clean line on stderr and no stack trace', () => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build`);
    const want = { ok: 4, error: 8 };
    const seen = { ok: 0, error: 0 };
    for (let index = 0; seen.ok < want.ok || seen.error < want.error; index++) {
      expect(index, 'not enough of both kinds of case').toBeLessThan(1000);
      const m = mutate(new Rng(caseSeed(SEED ^ 0xb1, index)), corpus);
      const verdict = checkReader(m.bytes);
      const kind = verdict instanceof PcpAgentError ? 'error' : 'ok';
      if (seen[kind] >= want[kind]) continue;
      seen[kind]++;
      const file = path.join(tmp, `bin-${index}.mmv`);
      fs.writeFileSync(file, m.bytes);
      const r = spawnSync(process.execPath, [MAIN, 'dump', file], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.signal, describeCase(index, m, r.stderr)).toBeNull();
      if (kind === 'error') {
        expect(r.status).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/^pcp-agent: PCP_AGENT_ERR_FORMAT: [^\n]*\n$/);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      } else {
        expect(r.status).toBe(0);
        expect(r.stderr).toBe('');
        expect(r.stdout).not.toMatch(CONTROL);
      }
    }
  });
});
