// What real PCP sees of files this library writes: pminfo -L with pmdammv loaded in-process
// reads every type, semantics, unit, help text, instance, version and label the test set.

import { afterEach, beforeEach, expect, test } from 'vitest';
import { Units } from '../src/mmv/units';
import { Registry, type RegistryOptions } from '../src/registry/registry';
import {
  describeMetrics,
  fetchValues,
  labels,
  makePcpTmpDir,
  metricNames,
  ownLabels,
  removePcpTmpDir,
  describePcp as suite,
} from './support/pcp';

let tmp: string;
const registries: Registry[] = [];

beforeEach(() => {
  tmp = makePcpTmpDir();
});

afterEach(() => {
  for (const r of registries.splice(0)) r.stop();
  removePcpTmpDir(tmp);
});

function registry(options: Partial<RegistryOptions> = {}): Registry {
  const r = new Registry({ name: 'app', dir: `${tmp}/mmv`, flushInterval: 0, ...options });
  registries.push(r);
  return r;
}

suite('real PCP reads what the library writes', () => {
  test('every type, with its value', async () => {
    const r = registry({ selfMetrics: false });
    r.metric('t.i32', { type: 'i32', semantics: 'instant' }).set(-42);
    r.metric('t.u32', { type: 'u32', semantics: 'instant' }).set(4_000_000_000);
    r.metric('t.i64', { type: 'i64', semantics: 'instant' }).set(-9_007_199_254_740_991);
    r.metric('t.u64', { type: 'u64', semantics: 'counter' }).set(2 ** 53 - 1);
    r.metric('t.float', { type: 'float', semantics: 'instant' }).set(3.25);
    r.metric('t.double', { type: 'double', semantics: 'instant' }).set(Math.E);
    r.string('t.string', { value: 'Wile E. Coyote' });
    r.start();
    const d = await describeMetrics(tmp, 'mmv.app');
    const seen = (n: string) => {
      const m = d.get(`mmv.app.t.${n}`);
      if (!m) throw new Error(`PCP does not show mmv.app.t.${n}`);
      return [m.type, m.values.get(null)];
    };
    expect(seen('i32')).toEqual(['32', -42]);
    expect(seen('u32')).toEqual(['U32', 4_000_000_000]);
    expect(seen('i64')).toEqual(['64', -9_007_199_254_740_991]);
    expect(seen('u64')).toEqual(['U64', 2 ** 53 - 1]);
    expect(seen('float')).toEqual(['FLOAT', 3.25]);
    expect(seen('double')).toEqual(['DOUBLE', Math.E]);
    expect(seen('string')).toEqual(['STRING', 'Wile E. Coyote']);
  });

  test('semantics, units and help texts', async () => {
    const r = registry({ selfMetrics: false });
    r.counter('c', { help: 'A counter', longHelp: 'Counts things\nover two lines' });
    r.gauge('g', { units: Units.per(Units.space('MiB'), 'sec'), help: 'A rate' });
    r.gauge('d', { semantics: 'discrete', units: Units.space('KiB') });
    r.metric('ms', { type: 'u64', semantics: 'counter', units: Units.time('msec') });
    r.metric('kc', { type: 'u64', semantics: 'counter', units: Units.count(3) });
    r.metric('cps', {
      type: 'double',
      semantics: 'instant',
      units: Units.per(Units.count(), 'sec'),
    });
    r.metric('b2', {
      type: 'double',
      semantics: 'instant',
      units: { dimSpace: 2, dimTime: 0, dimCount: 0, scaleSpace: 0, scaleTime: 0, scaleCount: 0 },
    });
    r.metric('gbc', {
      type: 'double',
      semantics: 'instant',
      units: { dimSpace: 1, dimTime: 0, dimCount: -1, scaleSpace: 3, scaleTime: 0, scaleCount: 0 },
    });
    r.start();
    const d = await describeMetrics(tmp, 'mmv.app');
    const desc = (n: string) => {
      const m = d.get(`mmv.app.${n}`);
      return m && [m.semantics, m.units];
    };
    expect(desc('c')).toEqual(['counter', 'count']);
    expect(desc('g')).toEqual(['instant', 'Mbyte / sec']);
    expect(desc('d')).toEqual(['discrete', 'Kbyte']);
    expect(desc('ms')).toEqual(['counter', 'millisec']);
    expect(desc('kc')).toEqual(['counter', 'count x 10^3']);
    expect(desc('cps')).toEqual(['instant', 'count / sec']);
    expect(desc('b2')).toEqual(['instant', 'byte^2']);
    expect(desc('gbc')).toEqual(['instant', 'Gbyte / count']);
    expect(d.get('mmv.app.c')?.oneLine).toBe('A counter');
    expect(d.get('mmv.app.c')?.help).toBe('Counts things\nover two lines');
    expect(d.get('mmv.app.g')?.oneLine).toBe('A rate');
  });

  test('instances of a shared domain, and each kind', async () => {
    const r = registry({ selfMetrics: false });
    const products = r.instanceDomain('products', {
      instances: ['Anvils', 'Rockets', 'Giant_Rubber_Bands'],
    });
    const count = r.counter('products.count', { indom: products });
    const time = r.timer('products.time', { indom: products, unit: 'usec' });
    const h = r.histogram('latency', { units: Units.time('msec'), buckets: [5, 10], window: 0 });
    count.instance('Anvils').add(3);
    count.instance('Rockets').inc();
    time.instance('Rockets').record(1500);
    for (const x of [1, 2, 6, 20]) h.record(x);
    r.start();
    const d = await describeMetrics(tmp, 'mmv.app');
    expect(Object.fromEntries(d.get('mmv.app.products.count')?.values ?? [])).toEqual({
      Anvils: 3,
      Rockets: 1,
      Giant_Rubber_Bands: 0,
    });
    expect(d.get('mmv.app.products.time.time')?.values.get('Rockets')).toBe(1500);
    expect(d.get('mmv.app.products.time.time')?.units).toBe('microsec');
    expect(d.get('mmv.app.products.time.count')?.values.get('Rockets')).toBe(1);
    expect(d.get('mmv.app.products.count')?.indom).toBe(d.get('mmv.app.products.time.time')?.indom);
    expect(d.get('mmv.app.latency.count')?.values.get(null)).toBe(4);
    expect(d.get('mmv.app.latency.sum')?.values.get(null)).toBe(29);
    expect(d.get('mmv.app.latency.bucket.le_5')?.values.get(null)).toBe(2);
    expect(d.get('mmv.app.latency.bucket.le_10')?.values.get(null)).toBe(3);
    expect(d.get('mmv.app.latency.bucket.le_inf')?.values.get(null)).toBe(4);
    expect(d.get('mmv.app.latency.p50')?.semantics).toBe('instant');
    expect(d.get('mmv.app.latency.max')?.values.get(null)).toBeCloseTo(20, 1);
  });

  test('an update shows after a flush', async () => {
    const r = registry();
    const c = r.counter('hits');
    const s = r.string('mode', { value: 'idle' });
    r.start();
    expect((await fetchValues(tmp, ['mmv.app.hits'])).get('mmv.app.hits')?.values.get(null)).toBe(
      0,
    );
    c.add(1000);
    s.set('busy');
    r.flush();
    const v = await fetchValues(tmp, ['mmv.app.hits', 'mmv.app.mode']);
    expect(v.get('mmv.app.hits')?.values.get(null)).toBe(1000);
    expect(v.get('mmv.app.mode')?.values.get(null)).toBe('busy');
  });

  test('an instance added while published shows beside the old ones', async () => {
    const r = registry();
    const req = r.counter('requests', { indom: ['GET_200'] });
    req.instance('GET_200').add(5);
    r.start();
    req.instance('POST_201').add(2);
    req.instance('GET_200').inc();
    r.flush();
    const v = await fetchValues(tmp, ['mmv.app.requests']);
    expect(Object.fromEntries(v.get('mmv.app.requests')?.values ?? [])).toEqual({
      GET_200: 6,
      POST_201: 2,
    });
  });

  test('a metric added while published shows', async () => {
    const r = registry();
    r.counter('first').inc();
    r.start();
    r.gauge('second').set(2.5);
    r.flush();
    const v = await fetchValues(tmp, ['mmv.app.first', 'mmv.app.second']);
    expect(v.get('mmv.app.second')?.values.get(null)).toBe(2.5);
  });

  test('after stop() the metrics are gone', async () => {
    const r = registry();
    r.counter('hits').inc();
    r.start();
    expect(await metricNames(tmp, 'mmv.app')).toContain('mmv.app.hits');
    r.stop();
    expect(await metricNames(tmp, 'mmv.app')).toEqual([]);
  });

  test('a version 2 file: names of 64 bytes and more', async () => {
    const long = `m${'x'.repeat(100)}`;
    const inst = `i${'y'.repeat(80)}`;
    const r = registry();
    r.counter(long, { indom: [inst] })
      .instance(inst)
      .add(3);
    r.start();
    expect(r.fileVersion).toBe(2);
    const v = await fetchValues(tmp, [`mmv.app.${long}`]);
    expect(v.get(`mmv.app.${long}`)?.values.get(inst)).toBe(3);
  });

  test('a version 3 file: labels on the file, a metric, a domain and instances', async () => {
    const r = registry({ labels: { app: 'shop', tier: 2 } });
    const routes = r.instanceDomain('routes', { labels: { kind: 'http' } });
    const req = r.counter('requests', { indom: routes, labels: { unit: 'req' } });
    req.instance('GET_/cart_200', { method: 'GET', route: '/cart', status: 200 }).inc();
    req.instance('POST_/cart_201', { method: 'POST', route: '/cart', status: 201 }).inc();
    r.start();
    expect(r.fileVersion).toBe(3);
    const l = await labels(tmp, 'mmv.app.requests');
    const m = l.get('mmv.app.requests');
    expect(ownLabels(m?.labels ?? {})).toEqual({ app: 'shop', tier: 2, kind: 'http', unit: 'req' });
    expect(ownLabels(m?.instances.get('GET_/cart_200') ?? {})).toEqual({
      app: 'shop',
      tier: 2,
      kind: 'http',
      unit: 'req',
      method: 'GET',
      route: '/cart',
      status: 200,
    });
    expect(ownLabels(m?.instances.get('POST_/cart_201') ?? {})).toMatchObject({
      method: 'POST',
      status: 201,
    });
    // The file label reaches every metric of the file; the item label only its own metric.
    const other = (await labels(tmp, 'mmv.app.pcp_agent.errors')).get('mmv.app.pcp_agent.errors');
    expect(ownLabels(other?.labels ?? {})).toEqual({ app: 'shop', tier: 2 });
  });

  test('indom and instance labels reach PCP for every cluster a registry can have', async () => {
    // pmdammv numbers indoms (cluster << 11) | serial in 22 bits; the registry keeps clusters
    // below 2048 so the labels match. 2047 is the largest, 1 the smallest.
    for (const cluster of [1, 2047]) {
      const r = registry({ name: `c${cluster}`, cluster, selfMetrics: false });
      const d = r.instanceDomain('d', { labels: { kind: 'x' } });
      r.counter('n', { indom: d }).instance('i', { n: cluster }).inc();
      r.start();
      const l = (await labels(tmp, `mmv.c${cluster}.n`)).get(`mmv.c${cluster}.n`);
      expect(ownLabels(l?.instances.get('i') ?? {})).toEqual({ kind: 'x', n: cluster });
      r.stop();
    }
  });

  test('a NOPREFIX file puts metrics directly under mmv.', async () => {
    const r = registry({ name: 'noprefix_app', noPrefix: true, selfMetrics: false });
    r.counter('noprefix_app_hits').add(4);
    r.start();
    const v = await fetchValues(tmp, ['mmv.noprefix_app_hits']);
    expect(v.get('mmv.noprefix_app_hits')?.values.get(null)).toBe(4);
  });

  test('the PROCESS flag hides the file of a dead process', async () => {
    const { spawnSync } = await import('node:child_process');
    const path = await import('node:path');
    // A child publishes without removing its file at exit, then dies.
    const script = `
      const { Registry } = require(${JSON.stringify(path.resolve('dist/src'))});
      const r = new Registry({ name: 'dead', dir: ${JSON.stringify(`${tmp}/mmv`)}, removeOnExit: false });
      r.counter('c').inc();
      r.start();
    `;
    expect(spawnSync(process.execPath, ['-e', script]).status).toBe(0);
    const fs = await import('node:fs');
    expect(fs.existsSync(`${tmp}/mmv/dead`)).toBe(true);
    expect(await metricNames(tmp, 'mmv.dead')).toEqual([]);
  });

  test('self-metrics count publishes, flushes and overflow', async () => {
    const r = registry({ maxInstances: 1 });
    const v = r.counter('routes', { indom: ['a'] });
    r.start();
    v.instance('b').inc();
    v.instance('c').inc();
    r.flush();
    const f = await fetchValues(tmp, ['mmv.app.pcp_agent']);
    expect(f.get('mmv.app.pcp_agent.instances.overflowed')?.values.get(null)).toBe(2);
    expect(f.get('mmv.app.pcp_agent.publishes')?.values.get(null)).toBe(2);
    expect(f.get('mmv.app.pcp_agent.errors')?.values.get(null)).toBe(0);
    const routes = await fetchValues(tmp, ['mmv.app.routes']);
    expect(Object.fromEntries(routes.get('mmv.app.routes')?.values ?? [])).toEqual({
      a: 0,
      _overflow: 2,
    });
  });
});
