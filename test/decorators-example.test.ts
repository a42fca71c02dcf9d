// examples/decorated-service.ts as its header says to run it: compiled by tsc, under
// `--require pcp-agent` with request context; real PCP must show its decorated methods.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { type AppRun, ROOT, spawnApp } from './support/app';
import { describePcp, fetchValues, type MetricValues, removePcpTmpDir } from './support/pcp';
import { poll } from './support/poll';

const OUT = path.join(ROOT, 'dist', '.decorator-fixtures', `example-${process.pid}`);
const runs: AppRun[] = [];

afterEach(() => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    removePcpTmpDir(r.pcpTmpDir);
  }
});

afterAll(() => {
  fs.rmSync(OUT, { recursive: true, force: true });
});

function request(port: number, method: string, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, method, path: p, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject)
      .end();
  });
}

function byInstance(v: MetricValues | undefined): Record<string, number> {
  return Object.fromEntries([...(v?.values ?? [])].map(([i, x]) => [i ?? '', Number(x)]));
}

describePcp('examples/decorated-service.ts', () => {
  it('shows the service’s calls, errors and stock, and their time per route', async () => {
    const tsc = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'tsc'),
      ['-p', path.join(ROOT, 'examples', 'decorated-service.tsconfig.json'), '--outDir', OUT],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    const run = spawnApp(path.join(OUT, 'decorated-service.js'), {
      env: { PCP_AGENT_NAME: 'shop', PCP_AGENT_CONTEXT: '1', PORT: '0' },
    });
    runs.push(run);
    const port = Number((await run.line(/^listening on/)).split(':').pop());
    const statuses: number[] = [];
    for (let k = 0; k < 4; k++) statuses.push(await request(port, 'POST', '/orders/apple'));
    statuses.push(await request(port, 'POST', '/orders/pear'));
    statuses.push(await request(port, 'GET', '/quote/pear'));
    statuses.push(await request(port, 'GET', '/quote/pear'));
    statuses.push(await request(port, 'POST', '/orders/kiwi'));
    expect(statuses).toEqual([201, 201, 201, 409, 201, 200, 200, 404]);

    // Until the last request's instance is in too: a flush may fall between the quotes and
    // the 404.
    const m = await poll(
      'the counts in PCP',
      async () => {
        const v = await fetchValues(run.pcpTmpDir, ['mmv.shop']);
        const arrived =
          byInstance(v.get('mmv.shop.methods.OrderService.quote.count'))[''] === 2 &&
          'POST:_unmatched:404' in byInstance(v.get('mmv.shop.http.server.methods.time'));
        return arrived ? v : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 150 },
    );
    const get = (name: string) => byInstance(m.get(`mmv.shop.${name}`));
    expect(get('methods.OrderService.place.count')).toEqual({ '': 5 });
    expect(get('methods.OrderService.place.errors')).toEqual({ '': 1 }); // out of stock
    expect(get('methods.OrderService.quote.bucket.le_inf')).toEqual({ '': 2 });
    expect(get('methods.Inventory.take.count')).toEqual({ apple: 4, pear: 1 });
    expect(get('methods.Inventory.take.errors')).toEqual({ apple: 1, pear: 0 });
    expect(get('methods.Inventory.inStock')).toEqual({ '': 4 }); // 3 + 5, less 3 apples and a pear
    const time = get('http.server.methods.time');
    expect(time['POST:/orders/apple:201']).toBeGreaterThan(0);
    expect(time['GET:/quote/pear:200']).toBeGreaterThan(0);
    expect(time['POST:_unmatched:404']).toBe(0); // no decorated method ran
    run.child.kill('SIGINT');
    await run.exited();
  });
});
