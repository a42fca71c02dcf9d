// The agent's lifecycle in real processes: it starts from --require and --import, once even
// when loaded twice, publishes one file per process (cluster workers, duplicates), never
// changes how the app exits, removes its file, and cleans up after dead processes.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readMmvFile } from '../src/mmv/reader';
import { type AppRun, spawnApp } from './support/app';
import { describePcp, fetchValues, metricNames, pminfoArgs, removePcpTmpDir } from './support/pcp';
import { poll } from './support/poll';

const runs: AppRun[] = [];

function app(...args: Parameters<typeof spawnApp>): AppRun {
  const run = spawnApp(...args);
  runs.push(run);
  return run;
}

afterEach(() => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    removePcpTmpDir(r.pcpTmpDir);
  }
});

describe('starting', () => {
  it('--require publishes the file named from package.json, and it is gone after exit', async () => {
    const run = app('idle.cjs', { env: { PCP_AGENT_NAME: undefined } });
    const ready = await run.line(/^READY/);
    expect(ready).toMatch(/^READY pcp_agent /); // this repo's package.json name, made valid
    expect(run.files()).toEqual(['pcp_agent']);
    const file = readMmvFile(path.join(run.mmvDir, 'pcp_agent'));
    expect(file.pid).toBe(run.child.pid);
    expect(file.process).toBe(true);
    run.send('quit');
    expect(await run.exited()).toEqual({ code: 0, signal: null });
    expect(run.files()).toEqual([]);
  });

  it('--import starts it for an ESM app, which shares its registry with the library', async () => {
    const run = app('twice.mjs', { preload: 'import', env: { PCP_AGENT_NAME: 'esm' } });
    expect(await run.line(/^READY/)).toBe('READY esm same=true');
    run.send('quit');
    expect((await run.exited()).code).toBe(0);
  });

  it('starts once when loaded by both --require and --import', async () => {
    const run = app('twice.mjs', { preload: 'both', env: { PCP_AGENT_NAME: 'both' } });
    expect(await run.line(/^READY/)).toBe('READY both same=true');
    expect(run.files()).toEqual(['both']);
    const names = readMmvFile(path.join(run.mmvDir, 'both')).metrics.map((m) => m.name);
    expect(names.filter((n) => n === 'pcp_agent.version')).toHaveLength(1);
    expect(names).toContain('app.orders');
    run.send('quit');
    expect((await run.exited()).code).toBe(0);
  });

  it('makes PCP_AGENT_NAME valid for PCP as it does a package name', async () => {
    const run = app('idle.cjs', { env: { PCP_AGENT_NAME: 'my-shop.api' } });
    expect(await run.line(/^READY/)).toMatch(/^READY my_shop_api /);
    expect(run.files()).toEqual(['my_shop_api']);
    run.send('quit');
    expect((await run.exited()).code).toBe(0);
  });

  it('does not start when the app only imports the library', async () => {
    const run = app('twice.mjs', { preload: 'none' });
    expect(await run.line(/^READY/)).toBe('READY undefined same=false');
    run.send('quit');
    await run.exited();
  });

  it('does not start with PCP_AGENT_ENABLED=false', async () => {
    const run = app('idle.cjs', { env: { PCP_AGENT_ENABLED: 'false' } });
    expect(await run.line(/^READY/)).toBe('READY no-agent ');
    expect(run.files()).toEqual([]);
    run.send('quit');
    await run.exited();
  });

  it('warns once per bad variable with a stable code, and the app runs', async () => {
    const run = app('idle.cjs', {
      env: { PCP_AGENT_NAME: 'bad', PCP_AGENT_FLUSH_INTERVAL: 'soon', PCP_AGENT_TIMERS: 'perhaps' },
    });
    await run.line(/^READY bad/);
    run.send('quit');
    expect((await run.exited()).code).toBe(0);
    const warnings = run.stderr().match(/\[PCP_AGENT_WARN_CONFIG\][^\n]*/g) ?? [];
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(
      'PCP_AGENT_FLUSH_INTERVAL must be a whole number >= 100, got "soon"',
    );
    expect(warnings[1]).toContain('PCP_AGENT_TIMERS must be true or false');
  });
});

describe('exiting', () => {
  it('an app that ends by itself exits with its own code, and leaves no file', async () => {
    const run = app('exit-early.cjs', { env: { PCP_AGENT_NAME: 'early' } });
    expect(await run.exited(10_000)).toEqual({ code: 7, signal: null });
    expect(run.stdout()).toContain('READY early');
    expect(run.files()).toEqual([]);
  });

  it('the agent installs no signal handler: SIGTERM ends the app as it would without it', async () => {
    const run = app('idle.cjs', { env: { PCP_AGENT_NAME: 'sig' } });
    await run.line(/^READY/);
    run.child.kill('SIGTERM');
    expect(await run.exited()).toEqual({ code: null, signal: 'SIGTERM' });
    // Node runs no exit hook on a signal: the file stays, flagged PROCESS (PCP ignores it)...
    expect(run.files()).toEqual(['sig']);
    // ...until the next start of the app removes it and takes the name back.
    const next = app('idle.cjs', { env: { PCP_AGENT_NAME: 'sig' }, pcpTmpDir: run.pcpTmpDir });
    await next.line(/^READY sig /);
    expect(next.files()).toEqual(['sig']);
    expect(readMmvFile(path.join(next.mmvDir, 'sig')).pid).toBe(next.child.pid);
    next.send('quit');
    await next.exited();
  });
});

describe('several processes', () => {
  it('a second copy of the app publishes name.pid<pid> beside the first', async () => {
    const first = app('idle.cjs', { env: { PCP_AGENT_NAME: 'dup' } });
    await first.line(/^READY/);
    const second = app('idle.cjs', { env: { PCP_AGENT_NAME: 'dup' }, pcpTmpDir: first.pcpTmpDir });
    expect(await second.line(/^READY/)).toMatch(`READY dup.pid${second.child.pid} `);
    expect(first.files()).toEqual(['dup', `dup.pid${second.child.pid}`]);
    const clusters = first.files().map((f) => readMmvFile(path.join(first.mmvDir, f)).cluster);
    expect(new Set(clusters).size).toBe(2);
    for (const r of [first, second]) r.send('quit');
    await Promise.all([first.exited(), second.exited()]);
    expect(first.files()).toEqual([]);
  });

  it('worker threads get no agent: one writer per file', async () => {
    const run = app('threads.cjs', { env: { PCP_AGENT_NAME: 'threads' } });
    expect(await run.line(/^READY/)).toBe('READY main=threads worker=undefined');
    expect(run.files()).toEqual(['threads']);
    run.send('quit');
    expect((await run.exited()).code).toBe(0);
  });

  it("a worker thread's default registry publishes <name>.thread<id>, removed when it ends, is terminated (its own threads' too), or the process exits", async () => {
    const run = app('thread-registries.cjs', { env: { PCP_AGENT_NAME: 'pool' } });
    expect(await run.line(/^READY/)).toBe(
      'READY main=pool threads=pool.thread1,pool.thread2,pool.thread3',
    );
    expect(run.files()).toEqual(['pool', 'pool.thread1', 'pool.thread2', 'pool.thread3']);
    await new Promise((r) => setTimeout(r, 300)); // several flushes of every thread
    for (const k of [1, 2, 3]) {
      const file = readMmvFile(path.join(run.mmvDir, `pool.thread${k}`));
      expect(file.pid).toBe(run.child.pid);
      expect(file.values.find((v) => v.metric === 'jobs')?.value).toBe(BigInt(k * 1000));
    }
    const main = readMmvFile(path.join(run.mmvDir, 'pool'));
    expect(main.metrics.map((m) => m.name)).toContain('pcp_agent.version');
    expect(main.metrics.map((m) => m.name)).not.toContain('jobs');
    // The threads' files have clusters of their own (pmdammv would mix up two with one).
    const clusters = run.files().map((f) => readMmvFile(path.join(run.mmvDir, f)).cluster);
    expect(new Set(clusters).size).toBe(4);
    run.send('end2');
    await run.line(/^ENDED2/);
    expect(run.files()).toEqual(['pool', 'pool.thread1', 'pool.thread3']);
    run.send('kill3');
    await run.line(/^KILLED3/);
    // terminate() runs no exit hook in the thread: the main thread removes its file.
    expect(run.files()).toEqual(['pool', 'pool.thread1']);
    // A thread's own thread: its file goes when it is terminated too.
    run.send('nest');
    expect(await run.line(/^NESTED/)).toBe('NESTED pool.thread4');
    expect(run.files()).toEqual(['pool', 'pool.thread1', 'pool.thread4']);
    run.send('kill4');
    await run.line(/^KILLED4/);
    expect(run.files()).toEqual(['pool', 'pool.thread1']);
    run.send('quit');
    expect(await run.exited()).toEqual({ code: 7, signal: null });
    expect(run.stderr()).not.toMatch(/PCP_AGENT_WARN/);
    expect(fs.readdirSync(run.mmvDir)).toEqual([]); // no file, no lock
  });

  it('node:cluster: the primary and each worker publish their own file', async () => {
    const run = app('cluster.cjs', { env: { PCP_AGENT_NAME: 'shop' } });
    expect(await run.line(/^READY/)).toMatch(/^READY shop \d+$/);
    expect(run.files()).toEqual(['shop', 'shop.worker1', 'shop.worker2']);
    const pids = run.files().map((f) => readMmvFile(path.join(run.mmvDir, f)).pid);
    expect(new Set(pids).size).toBe(3);
    run.send('quit');
    expect((await run.exited()).code).toBe(0);
    expect(run.files()).toEqual([]);
  });
});

describePcp('what PCP sees of several processes', () => {
  it('pminfo lists each cluster worker under mmv.<app>, and a derived metric totals them', async () => {
    const port = await freePort();
    const run = app('cluster.cjs', { env: { PCP_AGENT_NAME: 'shop', PORT: String(port) } });
    await run.line(/^READY/);
    const names = await metricNames(run.pcpTmpDir, 'mmv.shop');
    for (const name of [
      'mmv.shop.pcp_agent.version',
      'mmv.shop.worker1.pcp_agent.version',
      'mmv.shop.worker2.pcp_agent.version',
    ])
      expect(names).toContain(name);
    // 10 requests, each on its own connection: the workers share them; the total is exact.
    for (let k = 0; k < 10; k++) await get(`http://127.0.0.1:${port}/x/${k}`);
    const config = path.join(run.pcpTmpDir, 'derived.conf');
    fs.writeFileSync(
      config,
      'shop.requests = sum(mmv.shop.worker1.http.server.requests) + sum(mmv.shop.worker2.http.server.requests)\n',
    );
    const total = () =>
      execFileSync('pminfo', pminfoArgs(['-f'], ['shop.requests']), {
        env: { ...process.env, PCP_TMP_DIR: run.pcpTmpDir, PCP_DERIVED_CONFIG: config },
        encoding: 'utf8',
      });
    // Read until both workers' last requests are in (a flush or two).
    await poll(
      'the derived total in PCP',
      () => {
        const out = total();
        expect(out).toMatch(/shop\.requests\s+value 10\s*$/);
        return out;
      },
      { timeoutMs: 10_000 },
    );
    run.send('quit');
    await run.exited();
  });
});

describePcp('what PCP sees of worker threads', () => {
  it("pminfo shows each thread's default registry under mmv.<name>.thread<id>", async () => {
    const run = app('thread-registries.cjs', { env: { PCP_AGENT_NAME: 'pool' } });
    await run.line(/^READY/);
    const names = [1, 2, 3].map((k) => `mmv.pool.thread${k}.jobs`);
    const values = await fetchValues(run.pcpTmpDir, [...names, 'mmv.pool.pcp_agent.version']);
    expect(names.map((n) => values.get(n)?.values.get(null))).toEqual([1000, 2000, 3000]);
    expect(values.get('mmv.pool.pcp_agent.version')?.values.get(null)).toMatch(/^\d+\.\d+\.\d+/);
    run.send('quit');
    expect((await run.exited()).code).toBe(7);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
}

it('the fixtures resolve this package by name (self-reference)', () => {
  const r = spawnSync(process.execPath, ['-e', "require.resolve('pcp-agent')"], {
    cwd: path.resolve(__dirname, '..'),
  });
  expect(r.status).toBe(0);
  expect(fs.existsSync(path.resolve(__dirname, '..', 'dist', 'agent', 'index.js'))).toBe(true);
});
