// The registry as a user drives it: registration rules, ids, publishing, flushing, re-layout
// and stop, checked by reading the file back with our reader (real PCP checks: pcp.test.ts).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPcpTmpDir } from '../src/file/paths';
import { type MmvFile, readMmvFile } from '../src/mmv/reader';
import { Units } from '../src/mmv/units';
import { bucketName } from '../src/registry/kinds/histogram';
import { MAX_METRICS, Registry, type RegistryOptions } from '../src/registry/registry';
import { FOLD_AT } from '../src/registry/store';

let dir: string;
const registries: Registry[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-reg-'));
});

afterEach(() => {
  for (const r of registries.splice(0)) r.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function registry(options: Partial<RegistryOptions> = {}): Registry {
  const r = new Registry({ name: 'app', dir, flushInterval: 0, ...options });
  registries.push(r);
  return r;
}

function read(r: Registry): MmvFile {
  return readMmvFile(r.path);
}

function value(file: MmvFile, metric: string, instance: string | null = null): unknown {
  const v = file.values.find((x) => x.metric === metric && x.instance === instance);
  if (!v) throw new Error(`no value for ${metric} ${instance}`);
  return v.value;
}

describe('publishing', () => {
  it('creates a missing directory, and its missing parents, with mode 0755 whatever the umask', () => {
    const old = process.umask(0o077);
    try {
      const parent = path.join(dir, 'tmp');
      const r = registry({ dir: path.join(parent, 'mmv') });
      r.counter('hits').inc();
      r.start();
      expect(fs.statSync(parent).mode & 0o777).toBe(0o755);
      expect(fs.statSync(path.join(parent, 'mmv')).mode & 0o777).toBe(0o755);
      expect(value(read(r), 'hits')).toBe(1n);
      // One that exists is left as it is.
      fs.chmodSync(parent, 0o711);
      registry({ name: 'other', dir: path.join(parent, 'mmv2') }).start();
      expect(fs.statSync(parent).mode & 0o777).toBe(0o711);
      expect(fs.statSync(path.join(parent, 'mmv2')).mode & 0o777).toBe(0o755);
    } finally {
      process.umask(old);
    }
  });

  it('publishes a complete file (gen1 == gen2) at <dir>/<name> with mode 0644', () => {
    const old = process.umask(0o077);
    try {
      const r = registry();
      r.counter('hits').inc();
      r.start();
      const st = fs.statSync(path.join(dir, 'app'));
      expect(st.mode & 0o777).toBe(0o644);
      const f = read(r);
      expect(f.stable).toBe(true);
      expect(f.process).toBe(true);
      expect(f.pid).toBe(process.pid);
      expect(value(f, 'hits')).toBe(1n);
    } finally {
      process.umask(old);
    }
  });

  it('leaves no temporary file behind', () => {
    const r = registry();
    r.counter('hits');
    r.start();
    expect(fs.readdirSync(dir)).toEqual(['app']);
  });

  it('writes only when something changed', () => {
    const r = registry();
    const c = r.counter('hits');
    r.start();
    expect(r.flush()).toBe(false);
    c.inc();
    expect(r.flush()).toBe(true);
    expect(r.flush()).toBe(false);
    expect(value(read(r), 'hits')).toBe(1n);
  });

  it("gives a string's initial value to every instance, those added later too", () => {
    const r = registry();
    const single = r.string('version', { value: '1.2.3' });
    const modes = r.string('mode', {
      value: 'on',
      indom: r.instanceDomain('d', { instances: ['a'], maxInstances: 2 }),
    });
    r.start();
    modes.instance('b'); // added after declaration
    modes.instance('c'); // past the cap: _overflow, added now
    modes.instance('a').set('off');
    r.flush();
    const f = read(r);
    expect(value(f, 'version')).toBe('1.2.3');
    expect([value(f, 'mode', 'a'), value(f, 'mode', 'b'), value(f, 'mode', '_overflow')]).toEqual([
      'off',
      'on',
      'on',
    ]);
    expect(single.value).toBe('1.2.3');
    expect(modes.instance('b').value).toBe('on');
  });

  it('shows every update after a flush, with one write of the values region', () => {
    const r = registry();
    const c = r.counter('hits');
    const g = r.gauge('temp');
    const s = r.string('mode', { value: 'idle' });
    r.start();
    const before = read(r);
    c.add(41);
    c.inc();
    g.set(-3.25);
    s.set('busy');
    r.flush();
    const after = read(r);
    expect(value(after, 'hits')).toBe(42n);
    expect(value(after, 'temp')).toBe(-3.25);
    expect(value(after, 'mode')).toBe('busy');
    // Same layout: a flush never rewrites the metadata or the generation.
    expect(after.generation1).toBe(before.generation1);
  });

  it('re-lays out when an instance is added after publishing, losing nothing', () => {
    const r = registry();
    const req = r.counter('requests', { indom: ['GET'] });
    const get = req.instance('GET');
    get.add(5);
    r.start();
    const gen1 = read(r).generation1;
    get.inc(); // recorded before the re-layout
    const post = req.instance('POST'); // new instance: new layout at the next flush
    post.add(2); // recorded during
    get.inc();
    r.flush();
    const f = read(r);
    expect(f.generation1).toBeGreaterThan(gen1);
    expect(value(f, 'requests', 'GET')).toBe(7n);
    expect(value(f, 'requests', 'POST')).toBe(2n);
    post.inc(); // after
    r.flush();
    expect(value(read(r), 'requests', 'POST')).toBe(3n);
  });

  it('adds metrics after publishing', () => {
    const r = registry();
    r.counter('a').inc();
    r.start();
    r.counter('b').add(3);
    r.flush();
    const f = read(r);
    expect(value(f, 'a')).toBe(1n);
    expect(value(f, 'b')).toBe(3n);
  });

  it('uses a new, larger generation on every publish, even several within one second', () => {
    const r = registry();
    const v = r.counter('x', { indom: ['a'] });
    r.start();
    const gens = [read(r).generation1];
    for (const name of ['b', 'c', 'd']) {
      v.instance(name);
      r.flush();
      gens.push(read(r).generation1);
    }
    for (let i = 1; i < gens.length; i++) expect(gens[i]).toBeGreaterThan(gens[i - 1]);
  });

  it('stop() removes the file, is idempotent, and later updates are harmless', () => {
    const r = registry();
    const c = r.counter('hits');
    const v = r.counter('per', { indom: ['a'] });
    r.start();
    r.stop();
    r.stop();
    expect(fs.existsSync(r.path)).toBe(false);
    expect(() => {
      c.inc();
      v.instance('a').inc();
      v.instance('new').inc();
    }).not.toThrow();
    expect(r.flush()).toBe(false);
    expect(fs.existsSync(r.path)).toBe(false);
  });

  it('republishes a file deleted by someone else', async () => {
    const r = registry({ flushInterval: 20 });
    r.counter('hits').add(9);
    r.start();
    fs.unlinkSync(r.path);
    await new Promise((res) => setTimeout(res, 200));
    expect(value(read(r), 'hits')).toBe(9n);
  });

  it('yields to another live process that takes the same name, and takes it back after', async () => {
    const r = registry({ name: 'same', flushInterval: 20 });
    r.counter('hits').add(1);
    r.start();
    const pidIn = () => read(r).pid;
    expect(pidIn()).toBe(process.pid);
    const script = `
      const { Registry } = require(${JSON.stringify(path.resolve('dist/src'))});
      const r = new Registry({ name: 'same', dir: ${JSON.stringify(dir)} });
      r.counter('hits').add(2);
      r.start();
      console.log('up');
      process.stdin.resume(); // alive until the test closes its stdin
    `;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((res) => child.once('exit', res));
    await new Promise((res) => child.stdout.once('data', res));
    await new Promise((res) => setTimeout(res, 200)); // ten of our flushes
    expect(pidIn()).toBe(child.pid); // we did not take the file back
    expect(value(read(r), 'hits')).toBe(2n);
    child.stdin.end();
    await exited; // it removes its file at exit
    await new Promise((res) => setTimeout(res, 200));
    expect(pidIn()).toBe(process.pid);
    expect(value(read(r), 'hits')).toBe(1n);
    expect(value(read(r), 'pcp_agent.errors')).toBe(1n);
  });

  it('writes values again at the next flush after a write that failed', () => {
    const r = registry({ selfMetrics: false });
    const g = r.gauge('g');
    r.start();
    g.set(5);
    // One EIO from the positioned write of the values, as a failing disk would give.
    const writer = (r as unknown as { writer: { writeAt(b: Uint8Array, p: number): void } }).writer;
    const writeAt = writer.writeAt.bind(writer);
    let fail = true;
    writer.writeAt = (b, p) => {
      if (fail) {
        fail = false;
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      }
      writeAt(b, p);
    };
    expect(r.flush()).toBe(false);
    expect(value(read(r), 'g')).toBe(0);
    expect(r.flush()).toBe(true); // nothing changed since, but the file is behind
    expect(value(read(r), 'g')).toBe(5);
    expect(r.flush()).toBe(false); // and then nothing more to write
  });

  it('publishes again at the next flush() when its file was deleted, with no timer', () => {
    const r = registry({ selfMetrics: false });
    const g = r.gauge('g');
    r.start();
    fs.unlinkSync(r.path);
    g.set(7);
    expect(r.flush()).toBe(true);
    expect(value(read(r), 'g')).toBe(7);
  });

  it('never writes through a symlink planted at the target path', () => {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(dir, 'app'));
    const r = registry();
    r.counter('hits');
    r.start();
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(r.path).isFile()).toBe(true);
  });

  it('never writes through a symlink planted at the temporary path', () => {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(dir, `.app.${process.pid}.tmp`));
    const r = registry();
    r.counter('hits');
    r.start();
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(read(r).stable).toBe(true);
  });

  it('creates a missing directory', () => {
    const r = registry({ dir: path.join(dir, 'deep', 'mmv') });
    r.counter('hits');
    r.start();
    expect(r.published).toBe(true);
  });
});

describe('ids', () => {
  function build(): Registry {
    const r = new Registry({ name: 'stable', dir, flushInterval: 0 });
    const d = r.instanceDomain('products', { instances: ['Anvils', 'Rockets'] });
    r.counter('products.count', { indom: d });
    r.timer('work');
    r.histogram('latency', { buckets: [1, 2] });
    return r;
  }

  it('gives the same cluster, items, serials and instance ids across restarts', () => {
    const a = build().start();
    const fa = readMmvFile(a.path);
    a.stop();
    const b = build().start();
    registries.push(b);
    const fb = readMmvFile(b.path);
    expect(fb.cluster).toBe(fa.cluster);
    expect(fb.metrics.map((m) => [m.name, m.item])).toEqual(
      fa.metrics.map((m) => [m.name, m.item]),
    );
    expect(fb.indoms).toEqual(fa.indoms.map((d) => ({ ...d })));
  });

  it('never gives two metrics the same item, up to 1024 metrics', () => {
    const r = registry({ selfMetrics: false });
    for (let i = 0; i < MAX_METRICS; i++) r.gauge(`g${i}`);
    r.start();
    const items = read(r).metrics.map((m) => m.item);
    expect(items.length).toBe(1024);
    expect(new Set(items).size).toBe(1024);
    expect(Math.max(...items)).toBeLessThanOrEqual(1023);
    expect(() => r.gauge('one_more')).toThrow(/PCP_AGENT_ERR_TOO_MANY_METRICS.*at most 1024/);
  });

  it('keeps indom serials and clusters between 1 and 2047', () => {
    const r = registry({ name: 'x' });
    for (let i = 0; i < 50; i++) r.instanceDomain(`d${i}`);
    r.counter('c', { indom: r.instanceDomain('used', { instances: ['a'] }) });
    r.start();
    const f = read(r);
    expect(f.cluster).toBeGreaterThanOrEqual(1);
    // pmdammv builds indoms as (cluster << 11) | serial in 22 bits: a cluster of 2048 or
    // more would alias another file's indoms.
    expect(f.cluster).toBeLessThanOrEqual(2047);
    for (const d of f.indoms) {
      expect(d.serial).toBeGreaterThanOrEqual(1);
      expect(d.serial).toBeLessThanOrEqual(2047);
    }
    expect(new Set(f.indoms.map((d) => d.serial)).size).toBe(f.indoms.length);
  });

  it('honours a fixed cluster, item, serial and instance id, and refuses a clash', () => {
    const r = registry({ cluster: 77 });
    const d = r.instanceDomain('d', { serial: 9, instances: [{ name: 'zero', id: 0 }] });
    r.metric('m', { type: 'i32', semantics: 'instant', item: 5, indom: d });
    expect(() => r.metric('n', { type: 'i32', semantics: 'instant', item: 5 })).toThrow(
      /PCP_AGENT_ERR_ID.*item must be an unused integer/,
    );
    expect(() => r.instanceDomain('e', { serial: 9 })).toThrow(/PCP_AGENT_ERR_ID/);
    expect(() => r.instanceDomain('f', { serial: 2048 })).toThrow(/from 1 to 2047.*2048/);
    expect(() => new Registry({ name: 'big', dir, cluster: 2548 })).toThrow(
      /from 1 to 2047.*alias.*2548/,
    );
    r.start();
    const f = read(r);
    expect(f.cluster).toBe(77);
    expect(f.metrics.find((m) => m.name === 'm')?.item).toBe(5);
    expect(f.indoms[0]).toMatchObject({ serial: 9, instances: [{ id: 0, name: 'zero' }] });
  });
});

describe('validation', () => {
  it('refuses names pmdammv would drop, naming the rule and the value', () => {
    const r = registry();
    for (const bad of ['bad-name', '1abc', 'a..b', 'a.1b', '', 'a b', 'é']) {
      expect(() => r.counter(bad), bad).toThrow(/PCP_AGENT_ERR_NAME/);
    }
    expect(() => r.counter('bad-name')).toThrow(/"bad-name" breaks pmdammv's naming rule/);
    expect(() => new Registry({ name: 'bad-client', dir })).toThrow(/registry name "bad-client"/);
  });

  it('refuses a duplicate name and a name that is also a prefix of another', () => {
    const r = registry();
    r.counter('http.requests');
    expect(() => r.counter('http.requests')).toThrow(/PCP_AGENT_ERR_DUPLICATE.*"http.requests"/);
    expect(() => r.counter('http')).toThrow(/PCP_AGENT_ERR_DUPLICATE.*prefix/);
    expect(() => r.counter('http.requests.total')).toThrow(/PCP_AGENT_ERR_DUPLICATE/);
  });

  it('refuses strings over 255 bytes of UTF-8, counting bytes not characters', () => {
    const r = registry();
    r.counter('ok', { help: 'x'.repeat(255) });
    expect(() => r.counter('long', { help: 'x'.repeat(256) })).toThrow(
      /PCP_AGENT_ERR_STRING_TOO_LONG.*256 bytes.*at most 255/,
    );
    expect(() => r.counter('accents', { help: 'é'.repeat(128) })).toThrow(/256 bytes/);
    const s = r.string('mode', { value: 'fine' });
    expect(() => s.set('é'.repeat(200))).toThrow(/PCP_AGENT_ERR_STRING_TOO_LONG/);
    expect(s.value).toBe('fine');
  });

  it('refuses instance names that clash in their first word', () => {
    const r = registry();
    const v = r.counter('req', { indom: ['GET 200'] });
    expect(() => v.instance('GET 404')).toThrow(
      /PCP_AGENT_ERR_INSTANCE.*"GET 404" clashes with "GET 200".*first word/,
    );
    expect(() => r.counter('req2', { indom: ['a b', 'a c'] })).toThrow(/first word/);
  });

  it('refuses units out of range', () => {
    const r = registry();
    expect(() =>
      r.counter('c', {
        units: { dimSpace: 9, dimTime: 0, dimCount: 0, scaleSpace: 0, scaleTime: 0, scaleCount: 0 },
      }),
    ).toThrow(/PCP_AGENT_ERR_UNITS.*dimSpace.*9/);
  });

  it('refuses a negative, fractional or non-finite counter increment and keeps the value', () => {
    const r = registry();
    const c = r.counter('c');
    c.add(2);
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => c.add(bad)).toThrow(/PCP_AGENT_ERR_VALUE.*only goes up/);
    }
    expect(c.value).toBe(2);
  });

  it('refuses a raw value its type cannot hold', () => {
    const r = registry();
    const m = r.metric('m', { type: 'u32', semantics: 'instant' });
    m.set(7);
    expect(() => m.set(-1)).toThrow(/type u32 holds integers from 0 to 4294967295, got -1/);
    expect(() => m.set(1.5)).toThrow(/PCP_AGENT_ERR_VALUE/);
    expect(m.value).toBe(7);
  });

  it('a float metric reads back the float the file holds, and adds in it', () => {
    const r = registry();
    const f = r.metric('ratio', { type: 'float', semantics: 'instant' });
    f.set(0.1);
    expect(f.value).toBe(Math.fround(0.1));
    f.add(0.2);
    expect(f.value).toBe(Math.fround(Math.fround(0.1) + 0.2));
    r.start();
    expect(value(read(r), 'ratio')).toBe(f.value);
  });

  it('keeps what was recorded when a registration fails', () => {
    const r = registry();
    const c = r.counter('c');
    c.add(3);
    r.start();
    expect(() => r.counter('c')).toThrow();
    expect(() => r.counter('bad-name')).toThrow();
    r.flush();
    expect(value(read(r), 'c')).toBe(3n);
  });
});

describe('instance domains', () => {
  it('shares one domain between metrics, growing both', () => {
    const r = registry();
    const d = r.instanceDomain('products', { instances: ['Anvils'], help: 'Acme products' });
    const count = r.counter('products.count', { indom: d });
    const time = r.timer('products.time', { indom: d, unit: 'usec' });
    count.instance('Rockets').add(2);
    time.instance('Anvils').record(1500);
    r.start();
    const f = read(r);
    expect(value(f, 'products.count', 'Rockets')).toBe(2n);
    expect(value(f, 'products.time.time', 'Anvils')).toBe(1500);
    expect(value(f, 'products.time.time', 'Rockets')).toBe(0);
    expect(f.indoms[0].shortHelp).toBe('Acme products');
  });

  it('folds names past the cap into _overflow and counts them', () => {
    const r = registry({ maxInstances: 2 });
    const v = r.counter('routes', { indom: [] as string[] });
    v.instance('a').inc();
    v.instance('b').inc();
    v.instance('c').inc();
    v.instance('d').add(2);
    r.start();
    const f = read(r);
    const names = f.indoms[0].instances.map((i) => i.name);
    expect(names).toEqual(['a', 'b', '_overflow']);
    expect(value(f, 'routes', '_overflow')).toBe(3n);
    expect(value(f, 'pcp_agent.instances.overflowed')).toBe(2n);
  });

  it('gives _overflow asked for by name, with its labels, without counting a fold', () => {
    const r = registry({ maxInstances: 2 });
    const v = r.counter('hosts', { indom: [] as string[] });
    v.instance('_overflow', { host: 'other' }).add(3);
    v.instance('a').inc();
    r.start();
    const f = read(r);
    expect(f.indoms[0].instances.map((i) => i.name)).toEqual(['_overflow', 'a']);
    expect(value(f, 'hosts', '_overflow')).toBe(3n);
    expect(f.labels.filter((l) => l.kind === 'instances').map((l) => l.parsed)).toEqual([
      { host: 'other' },
    ]);
    expect(value(f, 'pcp_agent.instances.overflowed')).toBe(0n);
  });

  it('caps add() and instance() alike: the overflow instance is not one of maxInstances', () => {
    const r = registry();
    const d = r.instanceDomain('d', { maxInstances: 2 });
    const c = r.counter('c', { indom: d });
    c.instance('a').inc();
    c.instance('_overflow').inc(); // asked for by name, as the agent's own caps do
    expect(d.add('b')).toBe(2); // the second of two
    expect(() => d.add('c')).toThrow(/at its cap of 2 instances/);
    expect(d.instances.map((i) => i.name)).toEqual(['a', '_overflow', 'b']);
  });

  it('reserves _overflow, and the first word _overflow', () => {
    const r = registry();
    const d = r.instanceDomain('d', { maxInstances: 1 });
    expect(() => d.add('_overflow')).toThrow(/reserved/);
    // PCP clients key instances by their first word: this one would pass for _overflow, and
    // the overflow instance could not be added beside it.
    expect(() => d.add('_overflow tail')).toThrow(
      /instance name "_overflow tail" starts with the word "_overflow", reserved for the overflow instance/,
    );
    const c = r.counter('c', { indom: d });
    expect(() => c.instance('_overflow x')).toThrow(/reserved/);
    c.instance('a').inc();
    c.instance('b').inc(); // past the cap: folded into _overflow, which can be added
    r.start();
    expect(value(read(r), 'c', '_overflow')).toBe(1n);
  });
});

describe('versions and labels', () => {
  it('writes version 1 by default and version 2 for a 64-byte name', () => {
    const r = registry();
    r.counter('short');
    expect(r.fileVersion).toBe(1);
    r.counter(`n${'x'.repeat(63)}`);
    r.start();
    expect(read(r).version).toBe(2);
  });

  it('writes version 2 for a 64-byte instance name', () => {
    const r = registry();
    r.counter('c', { indom: ['i'.repeat(64)] });
    r.start();
    const f = read(r);
    expect(f.version).toBe(2);
    expect(f.indoms[0].instances[0].name).toBe('i'.repeat(64));
  });

  it('writes version 3 with labels on the file, metrics, domains and instances', () => {
    const r = registry({ labels: { app: 'shop', tier: 2 } });
    const d = r.instanceDomain('routes', { labels: { kind: 'http' } });
    const v = r.counter('requests', { indom: d, labels: { unit: 'req' } });
    v.instance('GET_200', { method: 'GET', status: 200 });
    r.start();
    const f = read(r);
    expect(f.version).toBe(3);
    const byKind = (k: string) => f.labels.filter((l) => l.kind === k).map((l) => l.parsed);
    expect(byKind('cluster')).toEqual([{ app: 'shop', tier: 2 }]);
    expect(byKind('indom')).toEqual([{ kind: 'http' }]);
    // One record per key: pmdammv shows only the first key of a multi-key instance record.
    expect(byKind('instances')).toEqual([{ method: 'GET' }, { status: 200 }]);
    expect(byKind('item')).toEqual([{ unit: 'req' }]);
  });

  it('refuses labels PCP cannot hold', () => {
    const r = registry();
    expect(() => r.counter('a', { labels: { '1x': 1 } })).toThrow(
      /PCP_AGENT_ERR_LABEL.*label name "1x"/,
    );
    expect(() => r.counter('b', { labels: { big: 'x'.repeat(300) } })).toThrow(/at most 243/);
  });
});

describe('kinds', () => {
  it('counter increments, pending as integers, all reach value and the file at each flush', () => {
    const r = registry();
    const c = r.counter('hits');
    r.start();
    for (let k = 0; k < 1000; k++) c.inc();
    c.add(5);
    expect(c.value).toBe(1005);
    expect(r.flush()).toBe(true);
    expect(value(read(r), 'hits')).toBe(1005n);
    for (let k = 0; k < 7; k++) c.inc();
    expect(c.value).toBe(1012);
    expect(value(read(r), 'hits')).toBe(1005n); // not flushed yet
    r.flush();
    expect(value(read(r), 'hits')).toBe(1012n);
  });

  it('counter: a pending count that reaches FOLD_AT folds into the value at once', () => {
    const r = registry();
    const c = r.counter('hits');
    r.start();
    c.inc();
    const pending = (c as unknown as { p: Int32Array; i: number }).p;
    const i = (c as unknown as { i: number }).i;
    expect(pending[i]).toBe(1);
    pending[i] = FOLD_AT - 2;
    c.inc(); // FOLD_AT - 1: still pending
    expect(pending[i]).toBe(FOLD_AT - 1);
    c.inc(); // FOLD_AT: folded
    expect(pending[i]).toBe(0);
    expect(c.value).toBe(FOLD_AT);
    c.inc();
    r.flush();
    expect(value(read(r), 'hits')).toBe(BigInt(FOLD_AT + 1));
  });

  it('counter handles made before the value store grows keep counting into it', () => {
    const r = registry();
    const early = r.counter('early');
    early.inc();
    const vector = r.counter('late', { indom: r.instanceDomain('many') });
    const late = [];
    for (let k = 0; k < 600; k++) late.push(vector.instance(`i${k}`)); // past the first 256 slots
    early.inc();
    for (const h of late) h.inc();
    late[599].inc();
    r.start();
    const f = read(r);
    expect(value(f, 'early')).toBe(2n);
    expect(value(f, 'late', 'i0')).toBe(1n);
    expect(value(f, 'late', 'i599')).toBe(2n);
  });

  it('timer counts and accumulates sync, async, thrown and rejected calls', async () => {
    const r = registry();
    const t = r.timer('work');
    expect(t.time(() => 5)).toBe(5);
    await expect(t.time(async () => 6)).resolves.toBe(6);
    const boom = new Error('boom');
    expect(() =>
      t.time(() => {
        throw boom;
      }),
    ).toThrow(boom);
    await expect(t.time(() => Promise.reject(boom))).rejects.toBe(boom);
    const sw = t.start();
    sw.stop();
    expect(sw.stop()).toBe(0); // a second stop records nothing
    t.record(10);
    expect(t.count).toBe(6);
    expect(t.total).toBeGreaterThanOrEqual(10);
  });

  it('histogram exports count, sum, min, max, percentiles and cumulative buckets', () => {
    const r = registry();
    const h = r.histogram('lat', { units: Units.time('msec'), buckets: [10, 50], window: 0 });
    for (let i = 1; i <= 100; i++) h.record(i);
    r.start();
    const f = read(r);
    expect(value(f, 'lat.count')).toBe(100n);
    expect(value(f, 'lat.sum')).toBe(5050);
    expect(value(f, 'lat.min')).toBe(1);
    expect(value(f, 'lat.max')).toBeCloseTo(100, 1);
    expect(value(f, 'lat.p50') as number).toBeCloseTo(50, 1);
    expect(value(f, 'lat.p90') as number).toBeCloseTo(90, 1);
    expect(value(f, 'lat.p99') as number).toBeCloseTo(99, 1);
    expect(value(f, 'lat.bucket.le_10')).toBe(10n);
    expect(value(f, 'lat.bucket.le_50')).toBe(50n);
    expect(value(f, 'lat.bucket.le_inf')).toBe(100n);
    const lat = f.metrics.find((m) => m.name === 'lat.p99');
    expect(lat?.semanticsName).toBe('instant');
  });

  it('puts each value in the first bucket whose bound is >= it, for any number of bounds', () => {
    // Values on, between, below and above the bounds, on both sides of record()'s halving
    // step, against a plain count of the values <= each bound.
    const values = [0, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 5.5, 6, 7, 7.25, 8, 9, 10, 11, 1e9];
    for (let n = 1; n <= 9; n++) {
      const bounds = Array.from({ length: n }, (_, j) => j + 1 + (j % 2) * 0.25);
      const r = registry({ name: `bounds${n}` });
      const h = r.histogram('h', { buckets: bounds });
      for (const x of values) h.record(x);
      r.start();
      const f = read(r);
      for (const bound of bounds) {
        const name = `h.bucket.${bucketName(bound)}`;
        expect(value(f, name), `${n} bounds, ${name}`).toBe(
          BigInt(values.filter((x) => x <= bound).length),
        );
      }
      expect(value(f, 'h.bucket.le_inf')).toBe(BigInt(values.length));
    }
  });

  it('histogram percentiles cover one window, then the next', () => {
    const r = registry();
    const h = r.histogram('lat', { window: 0 });
    h.record(5);
    r.start();
    // HDR keeps 3 significant digits: max is within 0.1% of the largest value.
    expect(value(read(r), 'lat.max') as number).toBeCloseTo(5, 1);
    h.record(2);
    r.flush();
    expect(value(read(r), 'lat.max') as number).toBeCloseTo(2, 1);
    expect(value(read(r), 'lat.count')).toBe(2n);
  });

  it('a histogram without buckets writes nothing past its own values', () => {
    const r = registry();
    const h = r.histogram('lat', { window: 0 });
    const after = r.counter('after');
    const next = r.gauge('next');
    const v = r.histogram('vec', { indom: r.instanceDomain('d', { instances: ['a', 'b'] }) });
    const last = r.gauge('last');
    r.start();
    for (let k = 0; k < 5; k++) {
      h.record(1);
      v.instance('a').record(2);
    }
    r.flush();
    const f = read(r);
    expect(value(f, 'lat.count')).toBe(5n);
    expect(value(f, 'after')).toBe(0n);
    expect(value(f, 'next')).toBe(0);
    expect(value(f, 'vec.count', 'a')).toBe(5n);
    expect(value(f, 'vec.count', 'b')).toBe(0n);
    expect(value(f, 'vec.sum', 'b')).toBe(0);
    expect(value(f, 'last')).toBe(0);
    expect([after.value, next.value, last.value]).toEqual([0, 0, 0]);
  });

  it('names bucket bounds in help texts as numbers, negative ones too', () => {
    const r = registry();
    r.histogram('h', { buckets: [-1, 0.5], help: 'H' });
    r.start();
    const help = (n: string) => read(r).metrics.find((m) => m.name === n)?.shortHelp;
    expect(help('h.bucket.le_minus_1')).toBe('H: observations <= -1');
    expect(help('h.bucket.le_0_5')).toBe('H: observations <= 0.5');
    expect(help('h.bucket.le_inf')).toBe('H: all observations');
  });

  it('takes a fixed item for counters, gauges and strings', () => {
    const r = registry();
    r.counter('c', { item: 7 });
    r.gauge('g', { item: 8 });
    r.string('s', { item: 10 });
    r.start();
    const items = Object.fromEntries(read(r).metrics.map((m) => [m.name, m.item]));
    expect([items.c, items.g, items.s]).toEqual([7, 8, 10]);
  });

  it('refuses bad histogram options', () => {
    const r = registry();
    expect(() => r.histogram('a', { buckets: [5, 1] })).toThrow(/strictly ascending/);
    expect(() => r.histogram('b', { percentiles: [0] })).toThrow(/\(0, 100\]/);
    const h = r.histogram('c');
    expect(() => h.record(-1)).toThrow(/finite number >= 0/);
  });
});

describe('the file location', () => {
  it('takes PCP_TMP_DIR from the environment first', () => {
    expect(findPcpTmpDir({ PCP_TMP_DIR: '/x' })).toEqual({ dir: '/x', source: 'env' });
  });

  it('then from pcp.conf named by PCP_CONF', () => {
    const conf = path.join(dir, 'pcp.conf');
    fs.writeFileSync(conf, '# comment\nPCP_VAR_DIR=/var/lib/pcp\nPCP_TMP_DIR="/var/lib/pcp/tmp"\n');
    expect(findPcpTmpDir({ PCP_CONF: conf })).toEqual({
      dir: '/var/lib/pcp/tmp',
      source: 'pcp.conf',
      conf,
    });
  });

  it('falls back to the system temporary directory without PCP', () => {
    const none = path.join(dir, 'missing.conf');
    expect(findPcpTmpDir({ PCP_CONF: none, TMPDIR: '/scratch' })).toEqual({
      dir: '/scratch',
      source: 'fallback',
    });
  });
});

describe('the process', () => {
  it('is importable from ESM as well as CommonJS, with named exports', () => {
    const script = `
      import { Registry, readMmvFile } from 'pcp-agent';
      const r = new Registry({ name: 'esm', dir: ${JSON.stringify(dir)}, flushInterval: 0 });
      r.counter('c').add(2);
      r.start();
      console.log(String(readMmvFile(r.path).values.find((v) => v.metric === 'c').value));
      r.stop();
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.resolve('.'),
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('2');
  });

  it('does not keep the event loop alive, and removes its file at exit', () => {
    const script = `
      const { Registry } = require(${JSON.stringify(path.resolve('dist/src'))});
      const r = new Registry({ name: 'bye', dir: ${JSON.stringify(dir)}, flushInterval: 10 });
      r.counter('c').inc();
      r.start();
      setTimeout(() => { process.exitCode = 7; }, 50);
    `;
    const started = Date.now();
    const out = spawnSync(process.execPath, ['-e', script], { timeout: 10_000 });
    expect(out.status).toBe(7);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fs.existsSync(path.join(dir, 'bye'))).toBe(false);
  });
});
