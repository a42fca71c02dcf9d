// The PCP configuration shipped in pcp/ and written by `pcp-agent pcp-config`: the templates
// expand as documented, and real PCP runs each file against live apps under the agent: every
// pmrep view, the pmlogconf group through pmlogconf and pmlogger, the derived totals over a
// cluster's workers, and every metric the Grafana dashboard draws.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expandTemplate,
  installPath,
  packageRoot,
  pcpConfigFiles,
  processNames,
  TEMPLATES,
} from '../src/cli/pcp-config';
import { type CliIo, runCli } from '../src/cli/run';
import { type AppRun, ROOT, spawnApp, stopApp } from './support/app';
import {
  clientEnv,
  describeDaemons,
  freePort,
  type Pmcd,
  type Pmproxy,
  poll,
  recordArchive,
  runPcp,
  startPmcd,
  startPmproxy,
  waitForMetric,
} from './support/daemons';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-fleet-config-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
  };
  return { code: runCli(args, io), stdout, stderr };
}

function sections(pmrepConf: string): string[] {
  return [...fs.readFileSync(pmrepConf, 'utf8').matchAll(/^\[(.+)\]$/gm)].map((m) => m[1]!);
}

/** Column name → value of the last row of pmrep -o csv output. */
function lastCsvRow(csv: string): Record<string, string> {
  const split = (line: string) => {
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
    return [...fields, field];
  };
  const lines = csv.trim().split('\n');
  const header = split(lines[0]!);
  const row = split(lines[lines.length - 1]!);
  return Object.fromEntries(header.map((h, k) => [h, row[k]!]));
}

describe('the templates in pcp/', () => {
  it('a [section] named with @PROCESS@ is written once per process, in order', () => {
    const text = '[@APP@]\na = 1\n\n[@PROCESS@-http]\nmmv.@PROCESS@.x = x\n';
    expect(expandTemplate(text, 'shop', ['shop.worker1', 'shop.worker2'])).toBe(
      '[shop]\na = 1\n\n[shop.worker1-http]\nmmv.shop.worker1.x = x\n\n' +
        '[shop.worker2-http]\nmmv.shop.worker2.x = x\n',
    );
  });

  it('sum(mmv.@PROCESS@.<metric>) becomes the sum over the processes', () => {
    expect(expandTemplate('t = 100 * sum(mmv.@PROCESS@.a.b)', 'farm', ['farm.worker1'])).toBe(
      't = 100 * sum(mmv.farm.worker1.a.b)',
    );
    expect(expandTemplate('t = sum(mmv.@PROCESS@.a)', 'farm', ['farm.w1', 'farm.w2'])).toBe(
      't = (sum(mmv.farm.w1.a) + sum(mmv.farm.w2.a))',
    );
  });

  it('#@ lines are notes on the template, left out; other comments stay', () => {
    expect(expandTemplate('#@ about @APP@\n# for @APP@\nx', 'shop', ['shop'])).toBe(
      '# for shop\nx',
    );
  });

  it('refuses a @PROCESS@ it cannot expand', () => {
    expect(() => expandTemplate('x = mmv.@PROCESS@.a', 'shop', ['shop'])).toThrow(
      /not expanded: x = mmv.@PROCESS@.a/,
    );
  });

  it("processes are named as the agent names its files: the app, cluster workers, pm2's instances", () => {
    expect(processNames('shop')).toEqual(['shop']);
    expect(processNames('shop', { workers: 2 })).toEqual(['shop.worker1', 'shop.worker2']);
    expect(processNames('shop', { instances: 2 })).toEqual(['shop.instance0', 'shop.instance1']);
  });

  it('every shipped template expands for one process and for a cluster, with nothing left over', () => {
    for (const layout of [{}, { workers: 3 }, { instances: 2 }]) {
      for (const file of pcpConfigFiles('shop', layout)) {
        expect(file.text).not.toMatch(/@APP@|@PROCESS@|^#@/m);
      }
    }
  });

  it('the package ships pcp/ (package.json "files")', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.files).toContain('pcp');
    expect(packageRoot()).toBe(ROOT);
    for (const template of Object.values(TEMPLATES)) {
      expect(fs.existsSync(path.join(ROOT, template))).toBe(true);
    }
  });
});

describe('pcp-agent pcp-config', () => {
  it('--out writes the four files in PCP’s own layout, the dashboard preset to the app', () => {
    const out = path.join(scratch, 'out');
    const r = cli(['pcp-config', 'shop', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const file of [
      'pmrep/pcp-agent-shop.conf',
      'pmlogconf/pcp-agent/shop',
      'derived/pcp-agent-shop.conf',
      'grafana/pcp-agent-shop.json',
    ]) {
      expect(r.stdout).toContain(`wrote ${path.join(out, file)}`);
      expect(fs.existsSync(path.join(out, file))).toBe(true);
    }
    const dashboard = JSON.parse(
      fs.readFileSync(path.join(out, 'grafana/pcp-agent-shop.json'), 'utf8'),
    );
    const app = dashboard.templating.list.find((v: { name: string }) => v.name === 'app');
    expect(app.current).toEqual({ text: 'shop', value: 'shop' });
  });

  it('--install puts pmrep, pmlogconf and derived files where PCP reads them', () => {
    const sysconf = path.join(scratch, 'etc-pcp');
    const vardir = path.join(scratch, 'var-lib-pcp');
    const env = { PCP_SYSCONF_DIR: sysconf, PCP_VAR_DIR: vardir };
    const r = cli(['pcp-config', 'shop', '--install', '--workers', '2'], env);
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(sysconf, 'pmrep', 'pcp-agent-shop.conf'))).toBe(true);
    expect(fs.existsSync(path.join(vardir, 'config', 'derived', 'pcp-agent-shop.conf'))).toBe(true);
    expect(fs.existsSync(path.join(vardir, 'config', 'pmlogconf', 'pcp-agent', 'shop'))).toBe(true);
    expect(r.stdout).toContain(`Grafana dashboard: ${path.join(ROOT, TEMPLATES.grafana)}`);
    const derived = fs.readFileSync(
      path.join(vardir, 'config', 'derived', 'pcp-agent-shop.conf'),
      'utf8',
    );
    expect(derived).toContain(
      'nodejs.shop.http.server.requests = (sum(mmv.shop.worker1.http.server.requests) + sum(mmv.shop.worker2.http.server.requests))',
    );
  });

  it('install paths follow pcp.conf when the environment does not set them', () => {
    const conf = path.join(scratch, 'pcp.conf');
    fs.writeFileSync(conf, 'PCP_SYSCONF_DIR=/opt/pcp/etc\nPCP_VAR_DIR=/opt/pcp/var\n');
    const [pmrep, pmlogconf] = pcpConfigFiles('shop');
    expect(installPath(pmrep!, { PCP_CONF: conf })).toBe('/opt/pcp/etc/pmrep/pcp-agent-shop.conf');
    expect(installPath(pmlogconf!, { PCP_CONF: conf })).toBe(
      '/opt/pcp/var/config/pmlogconf/pcp-agent/shop',
    );
  });

  it('names the app as PCP_AGENT_NAME would, and says so', () => {
    const r = cli(['pcp-config', '@acme/web-api', '--out', path.join(scratch, 'acme')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the app is named acme_web_api in PCP');
    expect(
      fs.existsSync(path.join(scratch, 'acme', 'pmlogconf', 'pcp-agent', 'acme_web_api')),
    ).toBe(true);
  });

  it('a file it cannot write is exit 1 with one line', () => {
    const blocker = path.join(scratch, 'blocker');
    fs.writeFileSync(blocker, '');
    const r = cli(['pcp-config', 'shop', '--out', blocker]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pcp-agent: cannot write .*blocker.*\n$/);
  });

  it.each([
    [['pcp-config'], 'pcp-config needs exactly one app name'],
    [['pcp-config', 'shop'], 'pcp-config needs either --out DIR or --install'],
    [['pcp-config', 'shop', '--out', 'x', '--install'], 'either --out DIR or --install'],
    [['pcp-config', 'shop', '--install', '--workers', '0'], '--workers must be a whole number'],
    [['pcp-config', 'shop', '--install', '--instances', 'two'], '--instances must be a whole'],
    [['pcp-config', 'shop', '--install', '--workers', '2', '--instances', '2'], 'not both'],
    [['pcp-config', 'shop', '--install', '--bogus'], "Unknown option '--bogus'"],
  ])('%j is a usage error with exit 2', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Run "pcp-agent help" for usage.');
  });
});

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

/** Copies PCP's own shipped files, so the installed ones are checked among them. */
function copyTree(from: string, to: string): void {
  if (fs.existsSync(from)) fs.cpSync(from, to, { recursive: true, dereference: true });
}

describeDaemons('the installed configuration, run by real PCP against live apps', () => {
  let pmcd: Pmcd;
  let pmproxy: Pmproxy;
  let shop: AppRun;
  let farm: AppRun;
  let sysconf: string;
  let vardir: string;
  /**
   * The environment of PCP's tools looking at the PCP tree `pcp-config --install` wrote
   * (PCP_SYSCONF_DIR and PCP_VAR_DIR point there): no -c, -d or PCP_DERIVED_CONFIG, only the
   * places PCP looks by default.
   */
  let installed: NodeJS.ProcessEnv;

  beforeAll(async () => {
    pmcd = await startPmcd();
    pmproxy = await startPmproxy(pmcd);
    const port = await freePort();
    // shop: one process with known traffic (12 users, 3 failed orders, 2 unknown URLs);
    // farm: a node:cluster app with two workers, 10 requests between them.
    // GC metrics on (PCP_AGENT_GC, off by default): the :<process>-gc views and the GC totals
    // read them.
    shop = spawnApp('fleet.cjs', {
      pcpTmpDir: pmcd.pcpTmpDir,
      env: { PCP_AGENT_NAME: 'shop', PCP_AGENT_GC: 'true' },
    });
    farm = spawnApp('cluster.cjs', {
      pcpTmpDir: pmcd.pcpTmpDir,
      env: { PCP_AGENT_NAME: 'farm', PORT: String(port), PCP_AGENT_GC: 'true' },
    });
    await Promise.all([shop.line(/^READY/), farm.line(/^READY/)]);
    for (let k = 0; k < 10; k++) await get(`http://127.0.0.1:${port}/items/${k}`);
    await waitForMetric(pmcd, 'mmv.shop.pcp_agent.version');
    await waitForMetric(pmcd, 'mmv.farm.worker2.pcp_agent.version');

    sysconf = path.join(pmcd.scratch, 'etc-pcp');
    vardir = path.join(pmcd.scratch, 'var-lib-pcp');
    copyTree('/etc/pcp/pmrep', path.join(sysconf, 'pmrep'));
    copyTree('/var/lib/pcp/config/pmlogconf', path.join(vardir, 'config', 'pmlogconf'));
    const tree = { PCP_SYSCONF_DIR: sysconf, PCP_VAR_DIR: vardir };
    for (const args of [['shop'], ['farm', '--workers', '2']]) {
      const r = cli(['pcp-config', ...args, '--install'], tree);
      expect(r.code, r.stderr).toBe(0);
    }
    // HOME and the working directory hold no pmrep.conf, which pmrep would read instead.
    installed = clientEnv({ ...tree, HOME: pmcd.scratch });
    delete installed.PCP_DERIVED_CONFIG;
  }, 60_000);

  afterAll(async () => {
    for (const app of [shop, farm]) await stopApp(app);
    await pmproxy?.stop();
    await pmcd?.stop();
  });

  const pmrep = (...args: string[]) =>
    runPcp('pmrep', ['-h', pmcd.host, ...args], { env: installed });
  const pminfo = (...args: string[]) =>
    runPcp('pminfo', ['-h', pmcd.host, ...args], { env: installed });

  it('every pmrep view of one app runs live, and :shop-http shows the exact counts', async () => {
    const conf = path.join(sysconf, 'pmrep', 'pcp-agent-shop.conf');
    expect(sections(conf)).toEqual([
      'shop',
      'shop-http',
      'shop-http-client',
      'shop-eventloop',
      'shop-gc',
      'shop-memory',
    ]);
    for (const view of sections(conf)) {
      const { stdout, stderr } = await pmrep(`:${view}`, '-s', '2', '-t', '0.5');
      expect(stderr, view).toBe('');
      expect(stdout.trim().split('\n').length, view).toBeGreaterThanOrEqual(3);
    }
    const routes = lastCsvRow((await pmrep(':shop-http', '-r', '-s', '1', '-o', 'csv')).stdout);
    expect(Number(routes['mmv.shop.http.server.requests-GET:/users/:id:200'])).toBe(12);
    expect(Number(routes['mmv.shop.http.server.errors-POST:/orders:500'])).toBe(3);
    const total = lastCsvRow((await pmrep(':shop', '-r', '-s', '1', '-o', 'csv')).stdout);
    expect(Number(total['nodejs_view.shop.requests'])).toBe(17);
    expect(Number(total['nodejs_view.shop.errors'])).toBe(3);
  });

  it("the cluster's views: one per worker, and :farm totals both workers", async () => {
    const views = sections(path.join(sysconf, 'pmrep', 'pcp-agent-farm.conf'));
    expect(views).toContain('farm.worker1-http');
    expect(views).toContain('farm.worker2-memory');
    const total = await poll('both workers counted', async () => {
      const row = lastCsvRow((await pmrep(':farm', '-r', '-s', '1', '-o', 'csv')).stdout);
      return row['nodejs_view.farm.requests'] === '10' ? row : undefined;
    });
    expect(Number(total['nodejs_view.farm.rss'])).toBeGreaterThan(0);
    for (const view of ['farm.worker1-http', 'farm.worker2-http']) {
      const { stderr } = await pmrep(`:${view}`, '-s', '2', '-t', '0.5');
      expect(stderr, view).toBe('');
    }
  });

  it('the derived metrics total a cluster over its workers, and one app over its routes', async () => {
    const defined = (app: string) => {
      const file = path.join(vardir, 'config', 'derived', `pcp-agent-${app}.conf`);
      return [...fs.readFileSync(file, 'utf8').matchAll(/^(nodejs\.[\w.]+) = /gm)].map(
        (m) => m[1]!,
      );
    };
    // PCP clients load them by default, and every definition binds (a bad operand would
    // drop it from the namespace).
    for (const app of ['farm', 'shop']) {
      const names = (await pminfo(`nodejs.${app}`)).stdout.trim().split('\n').sort();
      expect(names).toEqual(defined(app).sort());
    }
    const farm = await poll('the workers total', async () => {
      const out = (await pminfo('-f', 'nodejs.farm.http.server.requests')).stdout;
      return /value 10\s*$/.test(out) ? out : undefined;
    });
    expect(farm).toMatch(/nodejs\.farm\.http\.server\.requests\s+value 10/);
    const shopTotals = (await pminfo('-f', 'nodejs.shop.http.server')).stdout;
    expect(shopTotals).toMatch(/nodejs\.shop\.http\.server\.requests\s+value 17\n/);
    expect(shopTotals).toMatch(/nodejs\.shop\.http\.server\.errors\s+value 3\n/);
    const described = (await pminfo('-dt', 'nodejs.shop.http.server.requests')).stdout;
    expect(described).toMatch(/HTTP\(S\) requests answered by all processes of shop/);
    expect(described).toMatch(/Semantics: counter {2}Units: count/);
  });

  it('pmlogconf puts the groups in a new pmlogger configuration, and pmlogger records the apps', async () => {
    const config = path.join(pmcd.scratch, 'pmlogconf.config');
    await runPcp('pmlogconf', ['-c', '-h', pmcd.host, config], { env: installed });
    const text = fs.readFileSync(config, 'utf8');
    expect(text).toMatch(/^#\+ pcp-agent\/shop:y:/m);
    expect(text).toMatch(/^#\+ pcp-agent\/farm:y:/m);
    expect(text).toMatch(/\n\tmmv\.shop\n/);

    // PCP's own groups name metrics this pmcd lacks: pmlogger warns about those and goes on.
    const archive = await recordArchive(pmcd, config, { name: 'pmlogconf', seconds: 2 });
    const dumped = (await runPcp('pmdumplog', [archive, 'mmv.shop.http.server.requests'])).stdout;
    expect(dumped).toMatch(/inst \[\d+ or "GET:\/users\/:id:200"\] value 12/);
    const workers = (await runPcp('pminfo', ['-a', archive, 'mmv.farm'])).stdout;
    expect(workers).toContain('mmv.farm.worker2.http.server.requests');
  });

  it('the Grafana dashboard draws only metrics a live app has, fetched as PCP Vector does', async () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, TEMPLATES.grafana), 'utf8'));
    const vars = dashboard.templating.list as { name: string; type: string; query: string }[];
    expect(vars.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'performancecopilot-vector-datasource',
    });
    expect(vars.find((v) => v.name === 'app')?.type).toBe('textbox');
    const targets = (dashboard.panels as { targets?: { expr: string }[] }[]).flatMap(
      (p) => p.targets ?? [],
    );
    expect(targets.length).toBeGreaterThan(20);
    const names = targets.map((t) => t.expr.replace('$app', 'shop'));
    for (const name of names) expect(name).toMatch(/^mmv\.shop\.[a-z_.0-9]+$/);

    // pminfo knows every one of them...
    const described = (await runPcp('pminfo', ['-h', pmcd.host, '-d', ...names])).stdout;
    for (const name of names) expect(described).toContain(`\n${name}\n`);
    // ...and pmproxy fetches them, as the PCP Vector data source asks for values.
    const res = await fetch(
      `${pmproxy.url}/pmapi/fetch?hostspec=${pmcd.host}&names=${names.join(',')}`,
    );
    const body = (await res.json()) as { values: { name: string }[] };
    expect(body.values.map((v) => v.name).sort()).toEqual([...new Set(names)].sort());
  });
});
