import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcpAgentError } from '../src/errors';
import { readMmv, readMmvFile } from '../src/mmv/reader';
import { decodeUnits, NO_UNITS } from '../src/mmv/units';
import {
  Buf,
  buildV1,
  buildV2,
  GEN,
  LONG_INSTANCE,
  LONG_METRIC,
  U64_BIG,
} from './support/handmade-mmv';

function formatErrorOf(bytes: Uint8Array): PcpAgentError {
  try {
    readMmv(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(PcpAgentError);
    expect((err as PcpAgentError).code).toBe('PCP_AGENT_ERR_FORMAT');
    return err as PcpAgentError;
  }
  throw new Error('expected readMmv to throw');
}

const units = (fields: Partial<typeof NO_UNITS>) => ({ ...NO_UNITS, ...fields });

describe('readMmv on a hand-built version 1 file', () => {
  const file = readMmv(buildV1().bytes);

  it('decodes the header, flags and generation', () => {
    expect(file).toMatchObject({
      size: 2032,
      version: 1,
      generation1: GEN,
      generation2: GEN,
      stable: true,
      flags: 3,
      noPrefix: true,
      process: true,
      sentinel: false,
      pid: 4242,
      cluster: 17,
      warnings: [],
      labels: [],
    });
  });

  it('decodes the TOC', () => {
    expect(file.toc).toEqual([
      { offset: 40, type: 1, section: 'indoms', count: 1, sectionOffset: 120 },
      { offset: 56, type: 2, section: 'instances', count: 2, sectionOffset: 152 },
      { offset: 72, type: 3, section: 'metrics', count: 3, sectionOffset: 312 },
      { offset: 88, type: 4, section: 'values', count: 4, sectionOffset: 624 },
      { offset: 104, type: 5, section: 'strings', count: 5, sectionOffset: 752 },
    ]);
  });

  it('decodes the indom with its instances and help', () => {
    expect(file.indoms).toEqual([
      {
        serial: 5,
        instances: [
          { id: 0, name: 'red', offset: 152 },
          { id: 1, name: 'blue', offset: 232 },
        ],
        shortHelp: 'Colours',
        longHelp: 'The colours we count.',
        offset: 120,
        instancesOffset: 152,
      },
    ]);
  });

  it('decodes metric descriptions: names, types, semantics, units, indom and help', () => {
    expect(file.metrics).toEqual([
      {
        name: 'hits',
        item: 1,
        type: 3,
        typeName: 'u64',
        semantics: 1,
        semanticsName: 'counter',
        units: units({ dimCount: 1 }),
        unitsWord: 0x0010_0000,
        indom: null,
        indomField: -1,
        shortHelp: 'Hits so far',
        longHelp: 'Every hit since the process started.',
        offset: 312,
      },
      {
        name: 'ops',
        item: 2,
        type: 0,
        typeName: 'i32',
        semantics: 3,
        semanticsName: 'instant',
        units: units({ dimTime: 1, scaleTime: 2 }),
        unitsWord: 0x0100_2000,
        indom: 5,
        indomField: 5,
        shortHelp: null,
        longHelp: null,
        offset: 416,
      },
      {
        name: 'state',
        item: 3,
        type: 6,
        typeName: 'string',
        semantics: 4,
        semanticsName: 'discrete',
        units: NO_UNITS,
        unitsWord: 0,
        indom: null,
        indomField: -1,
        shortHelp: null,
        longHelp: null,
        offset: 520,
      },
    ]);
  });

  it('decodes values: u64 as bigint, i32 per instance, a string from its slot', () => {
    expect(file.values).toEqual([
      {
        offset: 624,
        metric: 'hits',
        metricOffset: 312,
        typeName: 'u64',
        instance: null,
        instanceId: null,
        instanceOffset: 0,
        value: U64_BIG,
        extra: 0n,
      },
      {
        offset: 656,
        metric: 'ops',
        metricOffset: 416,
        typeName: 'i32',
        instance: 'red',
        instanceId: 0,
        instanceOffset: 152,
        value: -3,
        extra: 0n,
      },
      {
        offset: 688,
        metric: 'ops',
        metricOffset: 416,
        typeName: 'i32',
        instance: 'blue',
        instanceId: 1,
        instanceOffset: 232,
        value: 7,
        extra: 0n,
      },
      {
        offset: 720,
        metric: 'state',
        metricOffset: 520,
        typeName: 'string',
        instance: null,
        instanceId: null,
        instanceOffset: 0,
        value: 'running',
        extra: 752n,
      },
    ]);
  });

  it('lists the string section', () => {
    expect(file.strings.map((s) => [s.offset, s.text])).toEqual([
      [752, 'running'],
      [1008, 'Hits so far'],
      [1264, 'Every hit since the process started.'],
      [1520, 'Colours'],
      [1776, 'The colours we count.'],
    ]);
  });

  it('accepts a Uint8Array that is a view into a larger buffer', () => {
    const bytes = buildV1().bytes;
    const outer = new Uint8Array(bytes.length + 16);
    outer.set(bytes, 8);
    expect(readMmv(outer.subarray(8, 8 + bytes.length))).toEqual(file);
  });
});

describe('readMmv on a hand-built version 2 file', () => {
  const { buf, at } = buildV2();
  const file = readMmv(buf.bytes);

  it('reads metric and instance names from string offsets, including ones over 63 bytes', () => {
    expect(file.version).toBe(2);
    expect(file.indoms[0]!.instances).toEqual([
      { id: 100, name: 'first', offset: at(32) },
      { id: 200, name: LONG_INSTANCE, offset: at(56) },
    ]);
    expect(file.metrics.map((m) => m.name)).toEqual(['x.size', LONG_METRIC]);
  });

  it('decodes v2 metric fields at their v2 offsets', () => {
    expect(file.metrics[0]).toMatchObject({
      item: 10,
      typeName: 'i64',
      semanticsName: 'instant',
      units: units({ dimSpace: 1 }),
      indom: 9,
      shortHelp: null,
      longHelp: null,
      offset: at(80),
    });
    expect(file.metrics[1]).toMatchObject({
      item: 11,
      typeName: 'float',
      units: NO_UNITS,
      indom: null,
      shortHelp: 'Ratio of things',
      offset: at(128),
    });
  });

  it('decodes i64 values as exact bigints and float values as numbers', () => {
    expect(file.values.map((v) => [v.metric, v.instance, v.instanceId, v.value])).toEqual([
      ['x.size', 'first', 100, -(2n ** 40n)],
      ['x.size', LONG_INSTANCE, 200, 9007199254740993n],
      [LONG_METRIC, null, null, 0.25],
    ]);
    expect(file.labels).toEqual([]);
    expect(file.warnings).toEqual([]);
  });
});

describe('readMmv on a hand-built version 3 file', () => {
  const { buf, at } = buildV2({ labels: true });
  const file = readMmv(buf.bytes);

  it('decodes the labels section: kind, optional flag, identity, instance and JSON', () => {
    expect(file.version).toBe(3);
    expect(file.toc[5]).toEqual({
      offset: 120,
      type: 6,
      section: 'labels',
      count: 4,
      sectionOffset: at(1552),
    });
    expect(file.labels).toEqual([
      {
        offset: at(1552),
        flags: 8,
        kind: 'cluster',
        optional: false,
        identity: 5,
        instance: null,
        payload: '{"app":"shop"}',
        parsed: { app: 'shop' },
      },
      {
        offset: at(1808),
        flags: 0x90,
        kind: 'item',
        optional: true,
        identity: 10,
        instance: null,
        payload: '{"unit":"bytes"}',
        parsed: { unit: 'bytes' },
      },
      {
        offset: at(2064),
        flags: 0x20,
        kind: 'instances',
        optional: false,
        identity: 9,
        instance: 200,
        payload: '{"tier":"gold"}',
        parsed: { tier: 'gold' },
      },
      {
        offset: at(2320),
        flags: 4,
        kind: 'indom',
        optional: false,
        identity: 9,
        instance: null,
        payload: 'not json',
        parsed: null,
      },
    ]);
  });

  it('decodes the rest of the file as version 2 does', () => {
    const v2 = readMmv(buildV2().buf.bytes);
    expect(file.metrics.map((m) => [m.name, m.typeName])).toEqual(
      v2.metrics.map((m) => [m.name, m.typeName]),
    );
    expect(file.values.map((v) => v.value)).toEqual(v2.values.map((v) => v.value));
  });
});

describe('readMmv on text written by anyone', () => {
  it('keeps a leading byte order mark, as PCP does', () => {
    const b = buildV1().str(752, '\ufeffrunning');
    expect(readMmv(b.bytes).values[3]!.value).toBe('\ufeffrunning');
  });

  it('quotes names in errors and warnings with control characters escaped', () => {
    // ESC [ 2 J clears a terminal, as does U+009B (CSI, C2 9B in UTF-8) followed by 2J.
    const name = [0x68, 0x1b, 0x5b, 0x32, 0x4a, 0xc2, 0x9b, 0x32, 0x4a, 0];
    const b = buildV1().i32(380, 42);
    b.bytes.set(name, 312);
    expect(readMmv(b.bytes).warnings).toEqual([
      'metric[0] at offset 312 ("h\\u001b[2J\\u009b2J"): unknown type 42',
    ]);
    const c = buildV1().u64(680, 0);
    c.bytes.set(name, 416);
    expect(formatErrorOf(c.bytes).message).toContain(
      'value[1] at offset 656 ("h\\u001b[2J\\u009b2J"): instance offset 0',
    );
  });
});

describe('readMmv on files pmdammv would not accept yet', () => {
  it('reports a file being written (gen1 != gen2) as unstable instead of failing', () => {
    const b = buildV1().u64(16, 0);
    const file = readMmv(b.bytes);
    expect(file.stable).toBe(false);
    expect(file.generation2).toBe(0n);
    expect(file.metrics).toHaveLength(3);
  });

  it('reports generation 0 as unstable', () => {
    const b = buildV1().u64(8, 0).u64(16, 0);
    expect(readMmv(b.bytes).stable).toBe(false);
  });

  it('treats metric indom 0 as a singleton, as pmdammv and libpcp_mmv do', () => {
    const b = buildV1().i32(392, 0);
    const hits = readMmv(b.bytes).metrics[0]!;
    expect(hits.indom).toBeNull();
    expect(hits.indomField).toBe(0);
  });

  it('keeps going past an unknown TOC type, with a warning', () => {
    const b = buildV1().i32(40 + 4 * 16, 99);
    const file = readMmv(b.bytes);
    expect(file.toc[4]).toMatchObject({ type: 99, section: 'unknown' });
    expect(file.strings).toEqual([]);
    expect(file.values[3]!.value).toBe('running');
    expect(file.warnings).toEqual(['TOC[4] at offset 104: unknown section type 99, skipped']);
  });

  it('warns about an unknown metric type and shows its raw bits', () => {
    const b = buildV1().i32(380, 42);
    const file = readMmv(b.bytes);
    expect(file.metrics[0]!.typeName).toBe('unknown');
    expect(file.values[0]!.value).toBe(U64_BIG);
    expect(file.warnings).toEqual(['metric[0] at offset 312 ("hits"): unknown type 42']);
  });
});

describe('readMmv rejects malformed files with PCP_AGENT_ERR_FORMAT', () => {
  it('an empty file', () => {
    expect(formatErrorOf(new Uint8Array(0)).message).toMatch(/file is 0 bytes.*40-byte header/);
  });

  it('a truncated header', () => {
    expect(formatErrorOf(buildV1().bytes.subarray(0, 39)).message).toMatch(
      /file is 39 bytes.*truncated at offset 39/,
    );
  });

  it('wrong magic', () => {
    const b = buildV1().str(0, 'PCP');
    expect(formatErrorOf(b.bytes).message).toMatch(/bad magic "PCP\\u0000" at offset 0/);
  });

  it('unknown versions', () => {
    expect(formatErrorOf(buildV1().i32(4, 4).bytes).message).toMatch(
      /unknown version 4 at offset 4/,
    );
    expect(formatErrorOf(buildV1().i32(4, 0).bytes).message).toMatch(/unknown version 0/);
  });

  it('fewer than 2 TOC entries', () => {
    expect(formatErrorOf(buildV1().i32(24, 1).bytes).message).toMatch(
      /TOC count 1 at offset 24 is below 2/,
    );
    expect(formatErrorOf(buildV1().i32(24, -5).bytes).message).toMatch(/TOC count -5/);
  });

  it('a TOC longer than the file', () => {
    expect(formatErrorOf(buildV1().i32(24, 1000).bytes).message).toMatch(
      /TOC count 1000 at offset 24 needs 16040 bytes, file is 2032/,
    );
  });

  it('a file truncated inside a section', () => {
    expect(formatErrorOf(buildV1().bytes.subarray(0, 700)).message).toMatch(
      /TOC\[3\] at offset 88: values section at offset 624 with 4 records of 32 bytes ends at 752, past the end of the file \(700\)/,
    );
  });

  it('a section offset beyond the file', () => {
    const b = buildV1().u64(72 + 8, 0xffff_ffff_ffff_fff0n);
    expect(formatErrorOf(b.bytes).message).toMatch(
      /TOC\[2\] at offset 72: metrics section at offset 18446744073709551600 .*past the end/,
    );
  });

  it('a section overlapping the header and TOC', () => {
    expect(formatErrorOf(buildV1().u64(72 + 8, 8).bytes).message).toMatch(
      /metrics section offset 8 overlaps the header and TOC \(which end at 120\)/,
    );
  });

  it('a negative section count', () => {
    expect(formatErrorOf(buildV1().i32(88 + 4, -1).bytes).message).toMatch(
      /TOC\[3\] at offset 88: values count -1 is negative/,
    );
  });

  it('a count over the 10000 pmdammv accepts', () => {
    expect(formatErrorOf(buildV1().i32(72 + 4, 10001).bytes).message).toMatch(
      /metrics count 10001 exceeds 10000/,
    );
  });

  it('a count that fits the limit but not the file', () => {
    expect(formatErrorOf(buildV1().i32(88 + 4, 9999).bytes).message).toMatch(
      /values section at offset 624 with 9999 records .*past the end of the file \(2032\)/,
    );
  });

  it('a duplicate section', () => {
    expect(formatErrorOf(buildV1().i32(104, 4).bytes).message).toMatch(
      /TOC\[4\] at offset 104: duplicate values section \(first at TOC offset 88\)/,
    );
  });

  it('an indom whose instances lie outside the file', () => {
    expect(formatErrorOf(buildV1().u64(128, 2000).bytes).message).toMatch(
      /indom\[0\] at offset 120: instances: offset 2000 \(field at offset 128\) points outside the file/,
    );
  });

  it('an indom with more than 10000 instances', () => {
    expect(formatErrorOf(buildV1().u32(124, 20000).bytes).message).toMatch(
      /indom\[0\] at offset 120: instance count 20000 exceeds 10000/,
    );
  });

  it('indoms sharing one run of instances cannot claim more than the file holds', () => {
    // 200 indoms all pointing at the same 100 instances: each fits, the total does not.
    const indoms = 72;
    const instances = indoms + 200 * 32;
    const name = instances + 100 * 24;
    const b = new Buf(name + 256);
    b.header({ version: 2, gen1: 1n, tocs: 2, flags: 0, pid: 1, cluster: 1 });
    b.toc(0, 1, 200, indoms).toc(1, 3, 0, 0);
    for (let i = 0; i < 200; i++) b.u32(indoms + 32 * i, i + 1).u32(indoms + 32 * i + 4, 100);
    for (let i = 0; i < 200; i++) b.u64(indoms + 32 * i + 8, instances);
    for (let k = 0; k < 100; k++)
      b.u64(instances + 24 * k, indoms).u64(instances + 24 * k + 16, name);
    b.str(name, 'x');
    expect(formatErrorOf(b.bytes).message).toMatch(
      /indom\[\d+\] at offset \d+: indoms claim \d+ instances, more than a 9128-byte file can hold/,
    );
  });

  it('a help text offset outside the file', () => {
    expect(formatErrorOf(buildV1().u64(400, 5000).bytes).message).toMatch(
      /metric\[0\] at offset 312: short help: offset 5000 \(field at offset 400\) points outside the file/,
    );
  });

  it('a help text slot that runs past the end of the file', () => {
    expect(formatErrorOf(buildV1().u64(408, 2000).bytes).message).toMatch(
      /long help: offset 2000 .*256 bytes needed, file is 2032 bytes/,
    );
  });

  it('a string without a NUL within 256 bytes', () => {
    const b = buildV1();
    b.bytes.fill(0x61, 1008, 1264);
    expect(formatErrorOf(b.bytes).message).toMatch(
      /metric\[0\] at offset 312: short help at offset 1008 has no NUL terminator within 256 bytes/,
    );
  });

  it('a v1 metric name without a NUL within 64 bytes', () => {
    const b = buildV1();
    b.bytes.fill(0x61, 312, 376);
    expect(formatErrorOf(b.bytes).message).toMatch(
      /metric\[0\] at offset 312: name at offset 312 has no NUL terminator within 64 bytes/,
    );
  });

  it('a v1 instance name without a NUL within 64 bytes', () => {
    const b = buildV1();
    b.bytes.fill(0x62, 168, 232);
    expect(formatErrorOf(b.bytes).message).toMatch(
      /instance at offset 152: name at offset 168 has no NUL terminator within 64 bytes/,
    );
  });

  it('a v2 metric name offset of 0', () => {
    const { buf, at } = buildV2();
    buf.u64(at(80), 0);
    expect(formatErrorOf(buf.bytes).message).toMatch(
      new RegExp(`metric\\[0\\] at offset ${at(80)}: name: string offset .* is 0`),
    );
  });

  it('a v2 instance name pointing outside the file', () => {
    const { buf, at } = buildV2();
    buf.u64(at(48), 1n << 62n);
    expect(formatErrorOf(buf.bytes).message).toMatch(
      new RegExp(
        `instance at offset ${at(32)}: name: offset 4611686018427387904 .*outside the file`,
      ),
    );
  });

  it('a value whose metric offset is not a metric record', () => {
    expect(formatErrorOf(buildV1().u64(640, 313).bytes).message).toMatch(
      /value\[0\] at offset 624: metric offset 313 is not the start of a metric record/,
    );
  });

  it('an instanced value whose instance offset is not an instance record', () => {
    expect(formatErrorOf(buildV1().u64(680, 0).bytes).message).toMatch(
      /value\[1\] at offset 656 \("ops"\): instance offset 0 is not the start of an instance record/,
    );
  });

  it('a string value whose slot lies outside the file', () => {
    expect(formatErrorOf(buildV1().i64(728, -1).bytes).message).toMatch(
      /value\[3\] at offset 720 \("state"\): string value: offset 18446744073709551615 .*outside the file/,
    );
  });

  it('a label payload without a NUL within 244 bytes', () => {
    const { buf, at } = buildV2({ labels: true });
    buf.bytes.fill(0x7b, at(1552) + 12, at(1552) + 256);
    expect(formatErrorOf(buf.bytes).message).toMatch(
      new RegExp(
        `label\\[0\\] payload at offset ${at(1552) + 12} has no NUL terminator within 244`,
      ),
    );
  });
});

describe('readMmv under random corruption', () => {
  const seeds = [buildV1().bytes, buildV2().buf.bytes, buildV2({ labels: true }).buf.bytes];
  const interesting = fc.constantFrom(
    0n,
    1n,
    8n,
    40n,
    120n,
    152n,
    624n,
    2031n,
    2032n,
    10000n,
    10001n,
    0x7fff_ffffn,
    0xffff_ffffn,
    1n << 53n,
    (1n << 63n) - 1n,
    0xffff_ffff_ffff_ffffn,
  );

  it('only ever throws PcpAgentError PCP_AGENT_ERR_FORMAT', () => {
    fc.assert(
      fc.property(
        fc.nat(seeds.length - 1),
        fc.array(fc.tuple(fc.nat(4000), fc.nat(255)), { maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(500), interesting), { maxLength: 4 }),
        fc.option(fc.nat(4000), { nil: undefined }),
        (seed, bytePokes, wordPokes, truncate) => {
          const bytes = seeds[seed]!.slice();
          const view = new DataView(bytes.buffer);
          for (const [at, v] of bytePokes) if (at < bytes.length) bytes[at] = v;
          // 64-bit writes on 4-byte boundaries hit counts, offsets and both halves of u64s.
          for (const [slot, v] of wordPokes) {
            if (slot * 4 + 8 <= bytes.length) view.setBigUint64(slot * 4, v, true);
          }
          const input = truncate === undefined ? bytes : bytes.subarray(0, truncate);
          try {
            readMmv(input);
          } catch (err) {
            if (!(err instanceof PcpAgentError) || err.code !== 'PCP_AGENT_ERR_FORMAT') throw err;
          }
        },
      ),
      { numRuns: 4000 },
    );
  });
});

describe('readMmvFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-reader-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a file from disk', () => {
    const file = path.join(dir, 'v1');
    fs.writeFileSync(file, buildV1().bytes);
    expect(readMmvFile(file).metrics.map((m) => m.name)).toEqual(['hits', 'ops', 'state']);
  });

  it('wraps a missing file in PCP_AGENT_ERR_IO', () => {
    const missing = path.join(dir, 'missing');
    expect(() => readMmvFile(missing)).toThrow(
      expect.objectContaining({
        code: 'PCP_AGENT_ERR_IO',
        message: expect.stringContaining('ENOENT'),
      }),
    );
  });

  it('refuses a directory as PCP_AGENT_ERR_IO', () => {
    expect(() => readMmvFile(dir)).toThrow(
      expect.objectContaining({
        code: 'PCP_AGENT_ERR_IO',
        message: expect.stringContaining('not a regular file'),
      }),
    );
  });

  it('names the path in format errors', () => {
    const file = path.join(dir, 'bad');
    fs.writeFileSync(file, 'not an mmv file at all, but long enough for a header.');
    expect(() => readMmvFile(file)).toThrow(
      `PCP_AGENT_ERR_FORMAT: ${file}: bad magic "not " at offset 0`,
    );
  });
});

// PCP's own writer: a C program linked against libpcp_mmv writes two files, and the reader
// must decode exactly what it set.
describe('readMmv on files written by libpcp_mmv', () => {
  const source = path.join(__dirname, 'c', 'reader_fixture.c');
  let tmp = '';
  let writerPid = 0;
  let unavailable: string | null = null;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-c-reader-'));
    const exe = path.join(tmp, 'reader_fixture');
    try {
      execFileSync(process.env.CC || 'gcc', [source, '-o', exe, '-lpcp_mmv', '-lpcp'], {
        stdio: 'pipe',
      });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      unavailable = `cannot build ${source} (needs gcc ($CC) and libpcp-mmv1-dev): ${
        e.stderr?.toString().trim() || e.message
      }`;
      if (process.env.CI) throw new Error(unavailable);
      return;
    }
    fs.mkdirSync(path.join(tmp, 'mmv'));
    const run = spawnSync(exe, { env: { ...process.env, PCP_TMP_DIR: tmp }, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`reader_fixture failed: ${run.stderr}`);
    writerPid = run.pid!;
  }, 60_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const read = (name: string) => readMmvFile(path.join(tmp, 'mmv', name));

  it('decodes the header of a version 1 file', (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const file = read('reader_v1');
    expect(file).toMatchObject({
      version: 1,
      stable: true,
      flags: 0,
      process: false,
      pid: writerPid,
      cluster: 321,
      warnings: [],
    });
    expect(file.generation1).toBeGreaterThan(0n);
  });

  it('decodes the indom, its instances and help', (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const [indom] = read('reader_v1').indoms;
    expect(indom).toMatchObject({
      serial: 7,
      shortHelp: 'Request routes',
      longHelp: 'Each HTTP route the app serves.',
    });
    expect(indom!.instances.map((i) => [i.id, i.name])).toEqual([
      [1, 'alpha'],
      [2, 'beta'],
    ]);
  });

  it('decodes names, types, semantics, units and help of every metric', (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const rows = read('reader_v1').metrics.map((m) => [
      m.name,
      m.item,
      m.typeName,
      m.semanticsName,
      m.units,
      m.indom,
      m.shortHelp,
      m.longHelp,
    ]);
    expect(rows).toEqual([
      [
        'requests',
        1,
        'u64',
        'counter',
        units({ dimCount: 1 }),
        null,
        'Requests served',
        'Total requests served since start.',
      ],
      [
        'latency',
        2,
        'double',
        'instant',
        units({ dimTime: 1, scaleTime: 2 }),
        7,
        'Latency per route',
        null,
      ],
      ['temperature', 3, 'i32', 'instant', NO_UNITS, null, null, null],
      [
        'throughput',
        4,
        'float',
        'instant',
        units({ dimSpace: 1, dimTime: -1, scaleSpace: 2, scaleTime: 3 }),
        null,
        'Throughput',
        null,
      ],
      ['heap', 5, 'i64', 'discrete', units({ dimSpace: 1 }), null, null, 'Heap size at start.'],
      ['workers', 6, 'u32', 'discrete', units({ dimCount: 1 }), null, null, null],
      ['status', 7, 'string', 'discrete', NO_UNITS, null, 'Service status', null],
      ['busy', 8, 'elapsed', 'counter', NO_UNITS, null, null, null],
    ]);
    const throughput = read('reader_v1').metrics[3]!;
    expect(throughput.unitsWord).toBe(0x1f02_3000);
    expect(decodeUnits(throughput.unitsWord)).toEqual(throughput.units);
  });

  it('decodes every value as the C program set it', (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const values = read('reader_v1').values.map((v) => [v.metric, v.instance, v.value]);
    expect(values).toEqual([
      ['requests', null, 42n],
      ['latency', 'alpha', 1.5],
      ['latency', 'beta', 2.25],
      ['temperature', null, -5],
      ['throughput', null, 0.5],
      ['heap', null, 5_000_000_000n],
      ['workers', null, 4],
      ['status', null, 'ok'],
      ['busy', null, 1234n],
    ]);
  });

  it('decodes a version 3 file: long names from strings, NOPREFIX and labels', (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const file = read('reader_v3');
    expect(file).toMatchObject({ version: 3, stable: true, noPrefix: true, cluster: 322 });
    expect(file.indoms[0]!.instances.map((i) => [i.id, i.name])).toEqual([
      [10, 'queue_with_a_name_that_is_longer_than_sixty_three_bytes_so_v2_strings'],
      [11, 'short'],
    ]);
    expect(file.metrics.map((m) => [m.name, m.typeName, m.semanticsName, m.indom])).toEqual([
      ['queue.depth', 'u32', 'instant', 3],
      ['uptime', 'u64', 'counter', null],
    ]);
    expect(file.values.map((v) => [v.metric, v.instanceId, v.value])).toEqual([
      ['queue.depth', 10, 17],
      ['queue.depth', 11, 3],
      ['uptime', null, 9000n],
    ]);
    expect(file.labels.map((l) => [l.kind, l.optional, l.identity, l.instance, l.parsed])).toEqual([
      ['cluster', false, 322, null, { app: 'shop' }],
      ['item', true, 1, null, { kind: 'gauge' }],
      ['indom', false, 3, null, { shards: 4 }],
      ['instances', false, 3, 11, { fast: true }],
    ]);
  });
});
