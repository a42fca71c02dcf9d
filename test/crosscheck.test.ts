// PCP's own C writer (libpcp_mmv) as the reference: the same metric set registered through
// our library is described identically by pminfo, ids aside; our reader reads the C file.

import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readMmvFile } from '../src/mmv/reader';
import { Registry } from '../src/registry/registry';
import { type ReferenceMetric, referenceSet } from './c/reference-set';
import { requireReferenceWriter, runReferenceWriter } from './support/c-writer';
import {
  describeMetrics,
  type MetricDescription,
  makePcpTmpDir,
  removePcpTmpDir,
  requirePcp,
} from './support/pcp';

const C_NAME = 'cref';
const OURS = 'ours';

/** Whether our library can hold a value exactly: 64-bit integers beyond 2^53 it cannot. */
const representable = (v: unknown): v is number | string => typeof v !== 'bigint';

/** Registers the reference set through the library, as a user would write it. */
function registerReferenceSet(dir: string): Registry {
  const r = new Registry({ name: OURS, dir, flushInterval: 0, selfMetrics: false, cluster: 124 });
  const domains = new Map(
    referenceSet.indoms.map((d) => [
      d.serial,
      r.instanceDomain(`indom${d.serial}`, {
        help: d.oneLine,
        longHelp: d.help,
        instances: d.instances.map((i) => ({ name: i.name, id: i.id })),
      }),
    ]),
  );
  for (const m of referenceSet.metrics) {
    const common = { help: m.oneLine, longHelp: m.help, semantics: m.semantics, units: m.units };
    if (m.type === 'string') {
      const s = r.string(m.name, {
        help: m.oneLine,
        longHelp: m.help,
        semantics: m.semantics as 'discrete',
      });
      if (m.indom === null) s.set(m.value as string);
      continue;
    }
    if (m.indom === null) {
      const h = r.metric(m.name, { ...common, type: m.type });
      if (representable(m.value)) h.set(m.value as number);
    } else {
      const v = r.metric(m.name, { ...common, type: m.type, indom: domains.get(m.indom)! });
      for (const [inst, value] of Object.entries(m.values)) {
        if (representable(value)) v.instance(inst).set(value as number);
      }
    }
  }
  return r.start();
}

describe.skipIf(!requirePcp() || !requireReferenceWriter())(
  "PCP's C writer and ours, side by side in real PCP",
  () => {
    let tmp: string;
    let ours: Registry;
    let cFile: string;
    let theirs: Map<string, MetricDescription>;
    let mine: Map<string, MetricDescription>;

    beforeAll(async () => {
      tmp = makePcpTmpDir();
      cFile = await runReferenceWriter(tmp, C_NAME);
      ours = registerReferenceSet(path.join(tmp, 'mmv'));
      [theirs, mine] = await Promise.all([
        describeMetrics(tmp, `mmv.${C_NAME}`),
        describeMetrics(tmp, `mmv.${OURS}`),
      ]);
    });

    afterAll(() => {
      ours?.stop();
      removePcpTmpDir(tmp);
    });

    test('both files hold the same metric names', () => {
      const names = (m: Map<string, MetricDescription>, prefix: string) =>
        [...m.keys()].map((n) => n.slice(prefix.length + 1)).sort();
      expect(names(mine, `mmv.${OURS}`)).toEqual(names(theirs, `mmv.${C_NAME}`));
      expect(mine.size).toBe(referenceSet.metrics.length);
    });

    test.each(referenceSet.metrics.map((m) => [m.name, m] as [string, ReferenceMetric]))(
      '%s is described the same way: type, semantics, units, help',
      (name) => {
        const a = theirs.get(`mmv.${C_NAME}.${name}`)!;
        const b = mine.get(`mmv.${OURS}.${name}`)!;
        const described = (d: MetricDescription) => ({
          type: d.type,
          semantics: d.semantics,
          units: d.units,
          indom: d.indom === null ? null : 'an indom',
          oneLine: d.oneLine,
          oneLineError: d.oneLineError,
          help: d.help,
          helpError: d.helpError,
          instances: [...d.instanceIds.keys()].sort(),
        });
        expect(described(b)).toEqual(described(a));
      },
    );

    test('values are the same wherever our library can hold them exactly', () => {
      let compared = 0;
      for (const m of referenceSet.metrics) {
        const a = theirs.get(`mmv.${C_NAME}.${m.name}`)!.values;
        const b = mine.get(`mmv.${OURS}.${m.name}`)!.values;
        for (const [inst, value] of a) {
          if (!representable(value)) continue;
          expect(b.get(inst), `${m.name} ${inst}`).toEqual(value);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(20);
    });

    test("our reader decodes the C library's file exactly", () => {
      const f = readMmvFile(cFile);
      expect(f.stable).toBe(true);
      expect(f.cluster).toBe(referenceSet.cluster);
      for (const d of referenceSet.indoms) {
        const got = f.indoms.find((x) => x.serial === d.serial);
        expect(got?.instances.map((i) => [i.id, i.name])).toEqual(
          d.instances.map((i) => [i.id, i.name]),
        );
        expect(got?.shortHelp ?? undefined).toBe(d.oneLine);
        expect(got?.longHelp ?? undefined).toBe(d.help);
      }
      for (const m of referenceSet.metrics) {
        const got = f.metrics.find((x) => x.name === m.name);
        expect(got, m.name).toBeDefined();
        expect(got).toMatchObject({
          item: m.item,
          typeName: m.type,
          semanticsName: m.semantics,
          units: m.units,
          indom: m.indom,
          shortHelp: m.oneLine ?? null,
          longHelp: m.help ?? null,
        });
        const wide = m.type === 'i64' || m.type === 'u64';
        const expected = (v: number | bigint | string) => (wide ? BigInt(v) : v);
        const values = f.values.filter((v) => v.metric === m.name);
        if (m.indom === null) {
          expect(values.map((v) => v.value)).toEqual([expected(m.value)]);
        } else {
          expect(Object.fromEntries(values.map((v) => [v.instance, v.value]))).toEqual(
            Object.fromEntries(Object.entries(m.values).map(([k, v]) => [k, expected(v)])),
          );
        }
      }
    });
  },
);
