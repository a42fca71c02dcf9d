// The agent's examples, run as the README says (`node --require pcp-agent examples/<x>`):
// each serves a few requests and real PCP must show them by route.

import * as http from 'node:http';
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { type AppRun, ROOT, spawnApp } from './support/app';
import { describePcp, fetchValues, removePcpTmpDir } from './support/pcp';
import { poll } from './support/poll';

const runs: AppRun[] = [];

afterEach(() => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    removePcpTmpDir(r.pcpTmpDir);
  }
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

const CASES = [
  {
    script: 'http-server.js',
    preload: 'require',
    calls: [
      ['GET', '/users/1'],
      ['GET', '/users/2'],
      ['GET', '/health'],
    ],
    expected: { 'GET:/users/:id:200': 2, 'GET:/health:200': 1 },
  },
  {
    script: 'express-app.js',
    preload: 'require',
    calls: [
      ['GET', '/api/orders/7'],
      ['GET', '/api/orders/8'],
      ['POST', '/api/orders'],
      ['GET', '/boom'],
    ],
    expected: { 'GET:/api/orders/:id:200': 2, 'POST:/api/orders:201': 1, 'GET:/boom:500': 1 },
  },
  {
    script: 'fastify-app.js',
    preload: 'require',
    calls: [
      ['GET', '/items/a1'],
      ['GET', '/items/b2'],
      ['GET', '/health'],
    ],
    expected: { 'GET:/items/:id:200': 2, 'GET:/health:200': 1 },
  },
  {
    script: 'esm-app.mjs',
    preload: 'import',
    calls: [
      ['POST', '/signup'],
      ['POST', '/signup'],
      ['GET', '/'],
    ],
    expected: { 'POST:/signup:201': 2, 'GET:/:200': 1 },
  },
] as const;

describePcp('examples under the agent', () => {
  it.each(CASES)('$script', async ({ script, preload, calls, expected }) => {
    const run = spawnApp(path.join(ROOT, 'examples', script), {
      preload,
      env: { PCP_AGENT_NAME: 'example', PORT: '0' },
    });
    runs.push(run);
    const port = Number((await run.line(/^listening on/)).split(':').pop());
    for (const [method, p] of calls) await request(port, method, p);
    // Read until the last request is in (a flush or two).
    await poll(
      'the requests in PCP',
      async () => {
        const values = await fetchValues(run.pcpTmpDir, ['mmv.example.http.server.requests']);
        const got: Record<string, number> = {};
        for (const [inst, v] of values.get('mmv.example.http.server.requests')?.values ?? [])
          if (Number(v) > 0) got[String(inst)] = Number(v);
        expect(got).toEqual(expected);
        return got;
      },
      { timeoutMs: 10_000 },
    );
    run.child.kill('SIGINT');
    await run.exited();
  });

  it('cluster-app.js: the primary and each worker publish their own file', async () => {
    const run = spawnApp(path.join(ROOT, 'examples', 'cluster-app.js'), {
      env: { PCP_AGENT_NAME: 'example', PORT: '0' },
    });
    runs.push(run);
    await run.line(/^listening on/);
    expect(run.files()).toEqual(['example', 'example.worker1', 'example.worker2']);
    run.child.kill('SIGINT');
    await run.exited();
  });
});
