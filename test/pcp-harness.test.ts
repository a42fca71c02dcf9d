// Checks the real-PCP test harness itself: the pminfo parsers (on captured PCP 6.0.3 output
// and live), the CI rule for a missing PCP, and how pmdammv presents PCP's own C writer.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ReferenceMetric, referenceSet } from './c/reference-set';
import { requireReferenceWriter, runReferenceWriter } from './support/c-writer';
import {
  describeMetrics,
  fetchValues,
  labels,
  type MetricDescription,
  MMV_DOMAIN,
  makePcpTmpDir,
  metricNames,
  ownLabels,
  PMINFO_TYPE,
  PminfoError,
  type PminfoValue,
  parseDescribeOutput,
  parseFetchOutput,
  parseLabelsOutput,
  pcpAvailable,
  pminfo,
  removePcpTmpDir,
  requirePcp,
} from './support/pcp';

describe('requirePcp', () => {
  const missing = { PATH: '/nonexistent' };

  test('returns false locally when pminfo is not on PATH, so the caller can skip', () => {
    expect(requirePcp({ env: missing })).toBe(false);
  });

  test('throws under CI when pminfo is not on PATH', () => {
    expect(() => requirePcp({ env: { ...missing, CI: 'true' } })).toThrow(/PCP is missing/);
  });

  test('throws under CI when pmdammv is missing', () => {
    const env = { PATH: process.env.PATH, CI: '1' };
    expect(() => requirePcp({ env, pmdaPath: '/nonexistent/pmda_mmv.so' })).toThrow(
      /PCP is missing/,
    );
  });

  test('treats CI=false as a local run', () => {
    expect(requirePcp({ env: { ...missing, CI: 'false' } })).toBe(false);
  });

  test.skipIf(!pcpAvailable())('returns true under CI when PCP is installed', () => {
    expect(requirePcp({ env: { PATH: process.env.PATH, CI: 'true' } })).toBe(true);
  });
});

// Output captured from pminfo 6.0.3 (-dmtT, -f and -l) on files built to exercise the
// awkward cases: help with blank and value-like lines, a multi-line string value, no
// values, a fetch error, an instance name with quotes and brackets.
describe('pminfo output parsers', () => {
  test('parses descriptions, including help text with blank and value-like lines', () => {
    const out = [
      '',
      'mmv.app.h1 PMID: 70.200.1 [one [bracket] line]]',
      '    Data Type: 64-bit unsigned int  InDom: PM_INDOM_NULL 0xffffffff',
      '    Semantics: instant  Units: none',
      'Help:',
      'para one',
      '',
      '    indented line',
      '    value 3',
      'trailing newline',
      '',
      'mmv.app.s3 PMID: 70.200.4 One-line Help: Error: One-line or help text is not available',
      '    Data Type: string  InDom: 70.409605 0x11864005',
      '    Semantics: discrete  Units: Mbyte / sec',
      'Full Help: Error: One-line or help text is not available',
      '',
    ].join('\n');
    const d = parseDescribeOutput(out);
    expect([...d.keys()]).toEqual(['mmv.app.h1', 'mmv.app.s3']);
    expect(d.get('mmv.app.h1')).toEqual({
      name: 'mmv.app.h1',
      pmid: '70.200.1',
      type: 'U64',
      indom: null,
      semantics: 'instant',
      units: '',
      oneLine: 'one [bracket] line]',
      oneLineError: null,
      help: 'para one\n\n    indented line\n    value 3\ntrailing newline',
      helpError: null,
    });
    expect(d.get('mmv.app.s3')).toMatchObject({
      type: 'STRING',
      indom: '70.409605',
      semantics: 'discrete',
      units: 'Mbyte / sec',
      oneLine: null,
      oneLineError: 'One-line or help text is not available',
      help: null,
      helpError: 'One-line or help text is not available',
    });
  });

  test('parses values: instances, strings across lines, no values, errors, 64-bit integers', () => {
    const out = [
      '',
      'mmv.app.s3',
      '    inst [0 or "a "quoted" ] x"] value "x"',
      '    inst [1 or "b"] value "two',
      'lines"',
      '',
      'mmv.app.s1',
      '    value ""',
      '',
      'mmv.app.queue',
      'No value(s) available!',
      '',
      'mmv.app.nosupport',
      'Error: Metric not supported by this version of monitored application',
      '',
      'mmv.app.big',
      '    value 18446744073709551615',
      '',
      'mmv.app.small',
      '    value 1e-07',
      '',
    ].join('\n');
    const v = parseFetchOutput(out);
    expect(v.get('mmv.app.s3')).toEqual({
      values: new Map([
        ['a "quoted" ] x', 'x'],
        ['b', 'two\nlines'],
      ]),
      instanceIds: new Map([
        ['a "quoted" ] x', 0],
        ['b', 1],
      ]),
      error: null,
    });
    expect(v.get('mmv.app.s1')?.values).toEqual(new Map([[null, '']]));
    expect(v.get('mmv.app.queue')).toEqual({
      values: new Map(),
      instanceIds: new Map(),
      error: null,
    });
    expect(v.get('mmv.app.nosupport')?.error).toBe(
      'Metric not supported by this version of monitored application',
    );
    expect(v.get('mmv.app.big')?.values.get(null)).toBe(18446744073709551615n);
    expect(v.get('mmv.app.small')?.values.get(null)).toBe(1e-7);
  });

  test('keeps an integer-looking double a number when the type is known', () => {
    const out = '\nmmv.app.d\n    value 9007199254740992\n';
    expect(parseFetchOutput(out).get('mmv.app.d')?.values.get(null)).toBe(9007199254740992n);
    const typed = parseFetchOutput(out, new Map([['mmv.app.d', 'DOUBLE' as const]]));
    expect(typed.get('mmv.app.d')?.values.get(null)).toBe(9007199254740992);
  });

  test('parses label sets per metric and per instance', () => {
    const out = [
      '',
      'mmv.acme.count',
      '    labels {"agent":"mmv","app":"acme","f.g":1,"hostname":"vm"}',
      '    inst [0 or "Anvils"] labels {"agent":"mmv","app":"acme","heavy":true,"hostname":"vm"}',
      '    inst [1 or "Rockets"] labels {"agent":"mmv","app":"acme","hostname":"vm","speed":9.5}',
      '',
      'mmv.acme.single',
      '    labels {"agent":"mmv","hostname":"vm"}',
      '',
    ].join('\n');
    const l = parseLabelsOutput(out);
    const count = l.get('mmv.acme.count')!;
    expect(ownLabels(count.labels)).toEqual({ app: 'acme', 'f.g': 1 });
    expect(ownLabels(count.instances.get('Anvils')!)).toEqual({ app: 'acme', heavy: true });
    expect(count.instances.get('Rockets')).toMatchObject({ speed: 9.5, hostname: 'vm' });
    expect(l.get('mmv.acme.single')).toEqual({
      labels: { agent: 'mmv', hostname: 'vm' },
      instances: new Map(),
    });
  });

  test('rejects output it does not understand rather than guessing', () => {
    expect(() => parseFetchOutput('\nmmv.a\n    weird 3\n')).toThrow(
      /unexpected pminfo value line/,
    );
    expect(() => parseLabelsOutput('\nmmv.a\n    labels: oops\n')).toThrow(
      /unexpected pminfo label/,
    );
  });
});

function expectedValues(m: ReferenceMetric): Map<string | null, PminfoValue> {
  return m.indom === null ? new Map([[null, m.value]]) : new Map(Object.entries(m.values));
}

function expectedIndom(m: ReferenceMetric): string | null {
  if (m.indom === null) return null;
  return `${MMV_DOMAIN}.${(referenceSet.cluster << 11) | m.indom}`;
}

function hasNoValues(m: ReferenceMetric): boolean {
  return m.indom !== null && Object.keys(m.values).length === 0;
}

describe.skipIf(!requirePcp() || !requireReferenceWriter())(
  "what PCP shows for PCP's own C writer (reference_writer.c)",
  () => {
    const file = 'ref';
    const prefix = `mmv.${file}`;
    let dir: string;
    let described: Map<string, MetricDescription>;

    beforeAll(async () => {
      dir = makePcpTmpDir();
      await runReferenceWriter(dir, file);
      described = await describeMetrics(dir, prefix);
    });

    afterAll(() => {
      if (dir !== undefined) removePcpTmpDir(dir);
    });

    test('lists exactly the metrics of the reference set', () => {
      const expected = referenceSet.metrics.map((m) => `${prefix}.${m.name}`);
      expect([...described.keys()].sort()).toEqual(expected.sort());
    });

    test.each(referenceSet.metrics.map((m) => [m.name, m] as const))(
      'describes %s as the reference set says',
      (name, m) => {
        const d = described.get(`${prefix}.${name}`)!;
        expect(d).toMatchObject({
          pmid: `${MMV_DOMAIN}.${referenceSet.cluster}.${m.item}`,
          type: PMINFO_TYPE[m.type],
          indom: expectedIndom(m),
          semantics: m.semantics,
          units: m.unitsText,
          values: expectedValues(m),
          error: null,
        });
        if (hasNoValues(m)) return; // see the next test
        expect(d.oneLine).toBe(m.oneLine ?? null);
        // libpcp answers a request for long help with the one-line text when there is none.
        expect(d.help).toBe(m.help ?? m.oneLine ?? null);
        if (m.oneLine === undefined) {
          expect(d.oneLineError).toBe('One-line or help text is not available');
        }
      },
    );

    test('serves no help for a metric with no values (pmdammv finds help through a value)', () => {
      const queue = referenceSet.metrics.find(hasNoValues)!;
      expect(queue.oneLine).toBeDefined();
      expect(described.get(`${prefix}.${queue.name}`)).toMatchObject({
        values: new Map(),
        oneLine: null,
        oneLineError: 'Unknown or illegal metric identifier',
        help: null,
        helpError: 'Unknown or illegal metric identifier',
      });
    });

    test('reports instance ids as the indom defines them', () => {
      const products = referenceSet.indoms.find((i) => i.instances.length > 0)!;
      const expected = new Map(products.instances.map((i) => [i.name, i.id]));
      expect(described.get(`${prefix}.products.count`)?.instanceIds).toEqual(expected);
    });

    test('fetchValues returns the values of just the named metrics', async () => {
      const v = await fetchValues(dir, [`${prefix}.types.u64`, `${prefix}.types.string`]);
      expect([...v.keys()].sort()).toEqual([`${prefix}.types.string`, `${prefix}.types.u64`]);
      expect(v.get(`${prefix}.types.u64`)?.values.get(null)).toBe(18446744073709551615n);
      expect(v.get(`${prefix}.types.string`)?.values.get(null)).toBe(
        'Wile E. Coyote says "beep, beep"',
      );
    });

    test('labels: a version 1 file carries only the labels PCP adds itself', async () => {
      const l = await labels(dir, prefix);
      expect(l.size).toBe(referenceSet.metrics.length);
      const count = l.get(`${prefix}.products.count`)!;
      expect(count.labels).toHaveProperty('hostname');
      expect(count.labels).toMatchObject({ agent: 'mmv' });
      expect(ownLabels(count.labels)).toEqual({});
      expect([...count.instances.keys()]).toEqual(['Anvils', 'Rockets', 'Giant_Rubber_Bands']);
      for (const set of count.instances.values()) expect(ownLabels(set)).toEqual({});
      expect(l.get(`${prefix}.types.i32`)?.instances.size).toBe(0);
    });

    test('metricNames lists the file and returns [] for a name PCP does not know', async () => {
      expect(await metricNames(dir, `${prefix}.products`)).toHaveLength(3);
      expect(await metricNames(dir, 'mmv.nosuchfile')).toEqual([]);
    });

    test('pminfo rejects with stderr when asked for an unknown metric', async () => {
      const failure = pminfo(dir, ['-f'], ['mmv.nosuchfile']);
      await expect(failure).rejects.toBeInstanceOf(PminfoError);
      await expect(failure).rejects.toThrow(/Unknown metric name/);
    });
  },
);
