// The agent end to end: real apps under `--require` and `--import` serve and send known
// traffic and run timers; real PCP (pminfo with pmdammv in-process) must see exact counts.

import { afterEach, expect, it } from 'vitest';
import { type AppRun, spawnApp } from './support/app';
import {
  describePcp,
  fetchValues,
  type MetricValues,
  pminfo,
  removePcpTmpDir,
} from './support/pcp';

const runs: AppRun[] = [];

afterEach(() => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    removePcpTmpDir(r.pcpTmpDir);
  }
});

/** Instance name → value, for the instances with a non-zero value. */
function nonZero(v: MetricValues | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [inst, value] of v?.values ?? [])
    if (Number(value) !== 0) out[inst ?? ''] = Number(value);
  return out;
}

describePcp('known traffic, as PCP sees it', () => {
  it.each([
    ['--require', 'traffic.cjs', 'require'],
    ['--import', 'traffic.mjs', 'import'],
  ] as const)('%s pcp-agent %s', async (_flag, script, preload) => {
    const run = spawnApp(script, { preload, env: { PCP_AGENT_NAME: 'traffic' } });
    runs.push(run);
    const port = Number((await run.line(/^READY/)).split(' ')[1]);
    const m = await fetchValues(run.pcpTmpDir, ['mmv.traffic']);
    const get = (name: string) => nonZero(m.get(`mmv.traffic.${name}`));

    // Server: numbers in paths become :id; unknown paths are normalized too.
    expect(get('http.server.requests')).toEqual({
      'GET:/users/:id:200': 24, // 20 by http.request, 4 by fetch
      'GET:_unmatched:404': 5, // a 404 with no framework route: junk URLs make no instances
      'POST:/orders:500': 3,
      'GET:/slow:499': 2,
    });
    expect(get('http.server.errors')).toEqual({ 'POST:/orders:500': 3 });
    expect(get('http.server.aborted')).toEqual({ 'GET:/slow:499': 2 });
    expect(get('http.server.duration.count')).toEqual(get('http.server.requests'));
    expect(Object.values(get('http.server.in_flight'))).toEqual([]);

    // Client: by method, host and status class; the aborted calls failed (no response).
    const host = `127.0.0.1:${port}`;
    expect(get('http.client.requests')).toEqual({
      [`GET:${host}:2xx`]: 24,
      [`GET:${host}:4xx`]: 5,
      [`POST:${host}:5xx`]: 3,
      [`GET:${host}:error`]: 2,
    });
    expect(get('http.client.errors')).toEqual({ reset: 2 });

    // Timers: at least the app's own (7 fired, 2 cleared; the server's /slow timers 2 more).
    expect(get('timers.cleared').timeout).toBeGreaterThanOrEqual(2);
    expect(get('timers.fired').timeout).toBeGreaterThanOrEqual(7 + 2);

    // Runtime and self-metrics are there.
    expect(get('runtime.heap.used')['']).toBeGreaterThan(0);
    expect(m.get('mmv.traffic.pcp_agent.version')?.values.get(null)).toMatch(/^\d+\.\d+\.\d+/);

    run.send('quit');
    expect(await run.exited()).toEqual({ code: 0, signal: null });
    expect(run.files()).toEqual([]);
  });

  it('labels carry method, route and status separately', async () => {
    const run = spawnApp('traffic.cjs', { env: { PCP_AGENT_NAME: 'traffic' } });
    runs.push(run);
    await run.line(/^READY/);
    const out = await pminfo(run.pcpTmpDir, ['-l'], ['mmv.traffic.http.server.requests']);
    expect(out).toMatch(
      /"GET:\/users\/:id:200".*"method":"GET".*"route":"\/users\/:id".*"status":"?200/s,
    );
    run.send('quit');
    await run.exited();
  });
});
