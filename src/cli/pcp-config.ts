// `pcp-agent pcp-config <app>`: the PCP configuration shipped in pcp/ (pmrep views, a pmlogconf
// group, derived totals, a Grafana dashboard) written out for one app, or installed for PCP.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { sanitizeName } from '../file/naming';
import { pcpConfigValue } from '../file/paths';
import type { CliIo, ExitCode } from './run';

/** Most processes one configuration totals (the agent's cluster slots go as far). */
const MAX_PROCESSES = 256;

export interface ProcessLayout {
  /** node:cluster workers: files `<app>.worker1` … `<app>.worker<N>`. */
  workers?: number;
  /** pm2 instances: files `<app>.instance0` … `<app>.instance<N-1>`. */
  instances?: number;
}

/** The file names (PCP name prefixes after `mmv.`) of an app's processes, as the agent names them. */
export function processNames(app: string, layout: ProcessLayout = {}): string[] {
  if (layout.workers !== undefined) {
    return Array.from({ length: layout.workers }, (_, k) => `${app}.worker${k + 1}`);
  }
  if (layout.instances !== undefined) {
    return Array.from({ length: layout.instances }, (_, k) => `${app}.instance${k}`);
  }
  return [app];
}

const SECTION = /^\[.*\]\s*$/;
/** Comment lines about the template itself, left out of what it generates. */
const TEMPLATE_NOTE = /^#@(\s|$)/;
const PROCESS = '@PROCESS@';
const SUM_OVER_PROCESSES = /sum\(mmv\.@PROCESS@\.([A-Za-z0-9_.]+)\)/g;

/**
 * Fills in a template from pcp/: a `[section]` whose name holds @PROCESS@ is written once per
 * process; `sum(mmv.@PROCESS@.<metric>)` becomes the sum over the processes; @APP@ the app;
 * `#@` lines (notes on the template) are left out.
 */
export function expandTemplate(text: string, app: string, processes: readonly string[]): string {
  if (processes.length === 0) throw new Error('a template needs at least one process');
  const blocks: string[][] = [[]];
  for (const line of text.split('\n')) {
    if (TEMPLATE_NOTE.test(line)) continue;
    if (SECTION.test(line)) blocks.push([]);
    blocks[blocks.length - 1]!.push(line);
  }
  const lines = blocks.flatMap((block) => {
    if (!block[0]?.includes(PROCESS) || !SECTION.test(block[0])) return block;
    return processes.flatMap((p) => block.map((line) => line.replaceAll(PROCESS, p)));
  });
  const out = lines
    .join('\n')
    .replace(SUM_OVER_PROCESSES, (_, metric: string) => {
      const terms = processes.map((p) => `sum(mmv.${p}.${metric})`);
      return terms.length === 1 ? terms[0]! : `(${terms.join(' + ')})`;
    })
    .replaceAll('@APP@', app);
  const left = out.split('\n').find((line) => line.includes(PROCESS));
  if (left !== undefined) throw new Error(`template line not expanded: ${left}`);
  return out;
}

/** The package's own directory (holding pcp/), from the TypeScript sources or dist/ alike. */
export function packageRoot(from: string = __dirname): string {
  let d = from;
  for (let k = 0; k < 6; k++) {
    if (fs.existsSync(path.join(d, 'pcp', 'pmrep', 'pcp-agent.conf'))) return d;
    d = path.dirname(d);
  }
  throw new Error(`pcp-agent's pcp/ directory was not found above ${from}`);
}

/** Where the shipped templates are. */
export const TEMPLATES = {
  pmrep: path.join('pcp', 'pmrep', 'pcp-agent.conf'),
  pmlogconf: path.join('pcp', 'pmlogconf', 'pcp-agent'),
  derived: path.join('pcp', 'derived', 'pcp-agent.conf'),
  grafana: path.join('pcp', 'grafana', 'pcp-agent.json'),
} as const;

export type ConfigKind = keyof typeof TEMPLATES;

export interface ConfigFile {
  kind: ConfigKind;
  /** Path relative to an output directory, the same layout as PCP's own directories. */
  relative: string;
  text: string;
}

interface GrafanaVariable {
  name?: string;
  query?: string;
  current?: unknown;
  options?: unknown;
}

/** The dashboard with its `app` variable preset to this app (it stays editable). */
function presetDashboard(json: string, app: string): string {
  const dashboard = JSON.parse(json) as { templating?: { list?: GrafanaVariable[] } };
  const variable = dashboard.templating?.list?.find((v) => v.name === 'app');
  if (variable === undefined) throw new Error('the Grafana dashboard has no "app" variable');
  variable.query = app;
  variable.current = { text: app, value: app };
  variable.options = [{ selected: true, text: app, value: app }];
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/** Every file of the configuration for one app, generated from the templates under root. */
export function pcpConfigFiles(
  app: string,
  layout: ProcessLayout = {},
  root: string = packageRoot(),
): ConfigFile[] {
  const processes = processNames(app, layout);
  const read = (kind: ConfigKind) => fs.readFileSync(path.join(root, TEMPLATES[kind]), 'utf8');
  return [
    {
      kind: 'pmrep',
      relative: path.join('pmrep', `pcp-agent-${app}.conf`),
      text: expandTemplate(read('pmrep'), app, processes),
    },
    {
      kind: 'pmlogconf',
      relative: path.join('pmlogconf', 'pcp-agent', app),
      text: expandTemplate(read('pmlogconf'), app, processes),
    },
    {
      kind: 'derived',
      relative: path.join('derived', `pcp-agent-${app}.conf`),
      text: expandTemplate(read('derived'), app, processes),
    },
    {
      kind: 'grafana',
      relative: path.join('grafana', `pcp-agent-${app}.json`),
      text: presetDashboard(read('grafana'), app),
    },
  ];
}

/** Where --install puts a file, from PCP's own settings; null for what PCP does not read. */
export function installPath(file: ConfigFile, env: NodeJS.ProcessEnv): string | null {
  const sysconf = pcpConfigValue('PCP_SYSCONF_DIR', env) ?? '/etc/pcp';
  const vardir = pcpConfigValue('PCP_VAR_DIR', env) ?? '/var/lib/pcp';
  switch (file.kind) {
    case 'pmrep':
      return path.join(sysconf, file.relative);
    case 'pmlogconf':
    case 'derived':
      return path.join(vardir, 'config', file.relative);
    case 'grafana':
      return null;
  }
}

export function pcpConfigUsage(): string {
  return `  pcp-config <app> (--out DIR | --install) [--workers N | --instances N]
                                 Write the PCP configuration for an app (metrics mmv.<app>.*):
                                 pmrep views, a pmlogconf group, derived totals over the app's
                                 processes, a Grafana dashboard. --out writes them below DIR;
                                 --install puts the first three where PCP reads them.
                                 --workers N: a node:cluster app (<app>.worker1..N);
                                 --instances N: pm2 (<app>.instance0..N-1).
`;
}

export class PcpConfigUsageError extends Error {}

function count(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_PROCESSES) {
    throw new PcpConfigUsageError(
      `${option} must be a whole number from 1 to ${MAX_PROCESSES}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/** What each installed file is for, printed after it. */
const NEXT_STEP: Readonly<Record<ConfigKind, (app: string, processes: string[]) => string>> = {
  pmrep: (app, processes) => `pmrep :${app}   pmrep :${processes[0]}-http`,
  pmlogconf: () => 'restart pmlogger while the app runs',
  derived: (app) => `pminfo -f nodejs.${app}`,
  grafana: () => 'import it in Grafana (PCP Vector data source)',
};

/** The command: returns an exit code; a bad command line throws PcpConfigUsageError. */
export function pcpConfig(args: readonly string[], io: CliIo): ExitCode {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    throw new PcpConfigUsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(
      `Usage: pcp-agent pcp-config <app> (--out DIR | --install) [options]\n\n${pcpConfigUsage()}`,
    );
    return 0;
  }
  if (positionals.length !== 1 || positionals[0]!.trim() === '') {
    throw new PcpConfigUsageError('pcp-config needs exactly one app name');
  }
  if ((values.out === undefined) === (values.install !== true)) {
    throw new PcpConfigUsageError('pcp-config needs either --out DIR or --install');
  }
  if (values.out === '') throw new PcpConfigUsageError('--out needs a directory');
  const workers = count(values.workers, '--workers');
  const instances = count(values.instances, '--instances');
  if (workers !== undefined && instances !== undefined) {
    throw new PcpConfigUsageError('give --workers or --instances, not both');
  }
  const app = sanitizeName(positionals[0]!);
  if (app !== positionals[0]) {
    io.stderr(`pcp-agent: the app is named ${app} in PCP (as PCP_AGENT_NAME would make it)\n`);
  }
  const layout = { workers, instances };
  const processes = processNames(app, layout);
  for (const file of pcpConfigFiles(app, layout)) {
    const target =
      values.out !== undefined ? path.join(values.out, file.relative) : installPath(file, io.env);
    if (target === null) {
      const shipped = path.join(packageRoot(), TEMPLATES.grafana);
      io.stdout(`Grafana dashboard: ${shipped} (set its "app" variable to ${app})\n`);
      continue;
    }
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, file.text, { mode: 0o644 });
    } catch (err) {
      io.stderr(`pcp-agent: cannot write ${target}: ${(err as Error).message}\n`);
      return 1;
    }
    io.stdout(`wrote ${target}   ${NEXT_STEP[file.kind](app, processes)}\n`);
  }
  return 0;
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      out: { type: 'string' },
      install: { type: 'boolean' },
      workers: { type: 'string' },
      instances: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
}
