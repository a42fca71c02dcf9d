// An app under the agent through PCP's daemons, as a fleet sees it: a pmcd and a pmproxy
// started here on loopback, pmval live, pmlogger recording an archive read back by pmdumplog
// and pmrep, pmproxy's REST API and OpenMetrics export. Exact counts come from known traffic.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AppRun, spawnApp, stopApp } from './support/app';
import {
  describeDaemons,
  type Pmcd,
  type Pmproxy,
  poll,
  recordArchive,
  runPcp,
  startPmcd,
  startPmproxy,
  waitForMetric,
} from './support/daemons';

const APP = 'fleet';
const REQUESTS = `mmv.${APP}.http.server.requests`;
/** What fleet.cjs sends itself before READY, by METHOD:route:status. */
const KNOWN = { 'GET:/users/:id:200': 12, 'POST:/orders:500': 3, 'GET:_unmatched:404': 2 };

/** Instance name → value in one block of pminfo -f or pmdumplog output. */
function instanceValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/inst \[\d+ or "([^"]*)"\] value (\S+)/g))
    out[m[1]!] = Number(m[2]);
  return out;
}

/** Splits one CSV line as pmrep -o csv writes it (fields quoted only when needed). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

describeDaemons('an app under the agent through pmcd, pmlogger and pmproxy', () => {
  let pmcd: Pmcd;
  let pmproxy: Pmproxy;
  let app: AppRun;

  beforeAll(async () => {
    pmcd = await startPmcd();
    pmproxy = await startPmproxy(pmcd);
    app = spawnApp('fleet.cjs', { pcpTmpDir: pmcd.pcpTmpDir, env: { PCP_AGENT_NAME: APP } });
    await app.line(/^READY/);
    await waitForMetric(pmcd, `mmv.${APP}.pcp_agent.version`);
  }, 60_000);

  afterAll(async () => {
    await stopApp(app);
    await pmproxy?.stop();
    await pmcd?.stop();
  });

  it("pmcd serves the app's file from its own $PCP_TMP_DIR/mmv, with the exact counts", async () => {
    const out = await waitForMetric(pmcd, REQUESTS);
    expect(instanceValues(out)).toMatchObject(KNOWN);
  });

  it('pmval shows the request counter as a rate over several samples', async () => {
    app.send('load 20');
    try {
      await poll('the GET:/load:200 instance', async () =>
        (await runPcp('pminfo', ['-h', pmcd.host, '-f', REQUESTS])).stdout.includes('GET:/load:200')
          ? true
          : undefined,
      );
      const { stdout } = await runPcp('pmval', [
        ...['-h', pmcd.host, '-t', '1sec', '-s', '4', '-f', '3'],
        ...['-i', 'GET:/load:200', REQUESTS],
      ]);
      expect(stdout).toMatch(/semantics: +cumulative counter \(converting to rate\)/);
      expect(stdout).toMatch(/units: +count \(converting to count \/ sec\)/);
      const rates = stdout
        .split('\n')
        .filter((line) => /^\s+-?\d+(\.\d+)?\s*$/.test(line))
        .map(Number);
      expect(rates).toHaveLength(4);
      // 20 requests a second from the app's own timer, which a busy machine may slow down;
      // raw counts would have grown past 40 by the second sample.
      for (const rate of rates) expect(rate).toBeGreaterThan(0);
      const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
      expect(mean).toBeGreaterThan(8);
      expect(mean).toBeLessThan(35);
    } finally {
      app.send('stop');
    }
  });

  it('pmlogger records the app, and pmdumplog and pmrep read the right values back', async () => {
    const config = path.join(pmcd.scratch, 'fleet.pmlogger');
    fs.writeFileSync(config, `log mandatory on every 1 second {\n    mmv.${APP}\n}\n`);
    const archive = await recordArchive(pmcd, config, { name: 'fleet', seconds: 3 });

    // The archive holds the app's whole namespace, with descriptions and instance names.
    const described = await runPcp('pminfo', ['-a', archive, '-d', REQUESTS]);
    expect(described.stdout).toMatch(/Semantics: counter {2}Units: count/);

    const dumped = await runPcp('pmdumplog', [archive, REQUESTS]);
    const records = dumped.stdout
      .split(/\n(?=\d\d:\d\d:\d\d\.\d+ )/)
      .filter((r) => r.includes('inst ['));
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const record of records) expect(instanceValues(record)).toMatchObject(KNOWN);

    // pmrep replays the archive: raw counts (-r) as recorded (-u, no interpolation).
    const replay = await runPcp('pmrep', ['-a', archive, '-u', '-r', '-o', 'csv', REQUESTS]);
    const [header, ...rows] = replay.stdout.trim().split('\n');
    const columns = csvFields(header!);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) {
      const values = csvFields(row);
      for (const [instance, count] of Object.entries(KNOWN)) {
        expect(Number(values[columns.indexOf(`${REQUESTS}-${instance}`)])).toBe(count);
      }
    }
  });

  it("pmproxy's /pmapi/fetch returns the app's values by instance, as pmcd numbers them", async () => {
    // Instance ids (hashes of the names) from pminfo, to read pmproxy's answer by name.
    const listed = (await runPcp('pminfo', ['-h', pmcd.host, '-f', REQUESTS])).stdout;
    const ids = new Map(
      [...listed.matchAll(/inst \[(\d+) or "([^"]*)"\]/g)].map((m) => [Number(m[1]), m[2]!]),
    );
    const heap = `mmv.${APP}.runtime.heap.used`;
    const res = await fetch(
      `${pmproxy.url}/pmapi/fetch?hostspec=${pmcd.host}&names=${REQUESTS},${heap}`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      values: { name: string; instances: { instance: number | null; value: number }[] }[];
    };
    const requests = body.values.find((v) => v.name === REQUESTS)!;
    const byName = Object.fromEntries(
      requests.instances.map((i) => [ids.get(i.instance!) ?? `?${i.instance}`, i.value]),
    );
    expect(byName).toMatchObject(KNOWN);
    const heapUsed = body.values.find((v) => v.name === heap)!.instances;
    expect(heapUsed).toHaveLength(1);
    expect(heapUsed[0]!.instance).toBeNull();
    expect(heapUsed[0]!.value).toBeGreaterThan(1_000_000);
  });

  it("pmproxy's /metrics exports them as OpenMetrics, each instance with the agent's labels", async () => {
    const res = await fetch(`${pmproxy.url}/metrics?hostspec=${pmcd.host}&names=${REQUESTS}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const name = REQUESTS.replaceAll('.', '_');
    expect(text).toContain(`# TYPE ${name} counter`);
    const samples = text.split('\n').filter((l) => l.startsWith(`${name}{`));
    const parsed = samples.map((line) => {
      const m = /^\S+\{(.*)\} (\S+)$/.exec(line)!;
      const labels = Object.fromEntries(
        [...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]),
      );
      return { labels, value: Number(m[2]) };
    });
    const users = parsed.find((s) => s.labels.instname === 'GET:/users/:id:200');
    expect(users?.value).toBe(12);
    expect(users?.labels).toMatchObject({ method: 'GET', route: '/users/:id', status: '200' });
    const orders = parsed.find((s) => s.labels.instname === 'POST:/orders:500');
    expect(orders?.value).toBe(3);
    expect(orders?.labels).toMatchObject({ method: 'POST', route: '/orders', status: '500' });
    // PCP's own context labels ride along: the host a series came from.
    expect(users?.labels.hostname).toBeTruthy();
  });
});

// PCP Vector (Grafana) asks pmproxy's /pmapi/indom for the names of new instances. With
// pmdammv inside pmcd (Debian's default), PCP 6.0.3's pmcd was seen to crash on that request
// (SIGSEGV in pmdaLabel: the DSO reads the instance profile of a client that fetched and left),
// so the README advises running pmdammv as a process of its own; this is that setup.
describeDaemons('pmdammv as a process of its own, asked the way PCP Vector asks', () => {
  let pmcd: Pmcd;
  let pmproxy: Pmproxy;
  let app: AppRun;
  let port: number;

  beforeAll(async () => {
    pmcd = await startPmcd({ mmv: 'daemon' });
    pmproxy = await startPmproxy(pmcd);
    app = spawnApp('fleet.cjs', { pcpTmpDir: pmcd.pcpTmpDir, env: { PCP_AGENT_NAME: 'vector' } });
    port = Number((await app.line(/^READY/)).split(' ')[1]);
    await waitForMetric(pmcd, 'mmv.vector.pcp_agent.version');
  }, 60_000);

  afterAll(async () => {
    await stopApp(app);
    await pmproxy?.stop();
    await pmcd?.stop();
  });

  it('/pmapi/indom names each new instance, after other clients fetched and left', async () => {
    const requests = 'mmv.vector.http.server.requests';
    for (const page of ['a', 'b', 'c']) {
      await fetch(`http://127.0.0.1:${port}/pages/${page}`).then((r) => r.text());
      // A client that fetches and exits (as pmval, pmrep or pmlogger do)...
      await poll(`the /pages/${page} instance`, async () =>
        (await runPcp('pminfo', ['-h', pmcd.host, '-f', requests])).stdout.includes(
          `GET:/pages/${page}:200`,
        )
          ? true
          : undefined,
      );
      // ...then the instance names, as PCP Vector asks for them.
      const res = await fetch(`${pmproxy.url}/pmapi/indom?hostspec=${pmcd.host}&name=${requests}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { instances: { instance: number; name: string }[] };
      expect(body.instances.map((i) => i.name)).toContain(`GET:/pages/${page}:200`);
      expect(body.instances.map((i) => i.name)).toContain('GET:/users/:id:200');
    }
    await runPcp('pminfo', ['-h', pmcd.host, 'mmv.control.files']); // pmcd still answers
  });
});
