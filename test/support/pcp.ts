// Asks real PCP what it sees: runs pminfo with pmdammv loaded in-process (-L) against a
// private PCP_TMP_DIR and parses its output into plain structures tests can assert on.

import { execFile } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe } from 'vitest';

export const PMDA_MMV_PATH = '/var/lib/pcp/pmdas/mmv/pmda_mmv.so';
export const MMV_DOMAIN = 70;
export const PMINFO_TIMEOUT_MS = 20_000;

type Env = Readonly<Record<string, string | undefined>>;

/** A CI run is one where CI is set to anything but '', 'false' or '0'. */
export function isCi(env: Env = process.env): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

function onPath(command: string, env: Env): boolean {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

function exists(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export interface PcpProbe {
  env?: Env;
  /** Where pmdammv's shared object is expected; defaults to Debian's path. */
  pmdaPath?: string;
}

/** pminfo on PATH and pmdammv's shared object present. */
export function pcpAvailable({
  env = process.env,
  pmdaPath = PMDA_MMV_PATH,
}: PcpProbe = {}): boolean {
  return onPath('pminfo', env) && exists(pmdaPath);
}

/**
 * True when real PCP can be used. Without PCP a CI run throws, because a real-PCP test
 * that silently skips in CI proves nothing; locally it returns false so the caller skips.
 */
export function requirePcp(probe: PcpProbe = {}): boolean {
  if (pcpAvailable(probe)) return true;
  if (isCi(probe.env ?? process.env)) {
    throw new Error(
      `PCP is missing (need pminfo on PATH and ${probe.pmdaPath ?? PMDA_MMV_PATH}); ` +
        'real-PCP tests must not skip in CI. Install it with .ci/install-pcp.',
    );
  }
  return false;
}

/**
 * `describe` for tests that need real PCP: skipped locally without PCP, a failure in CI.
 * The check runs when the suite is declared, so importing this module never throws.
 */
export function describePcp(name: string, body: () => void): void {
  describe.skipIf(!requirePcp())(name, body);
}

/** A fresh PCP_TMP_DIR with an `mmv/` subdirectory (0755) for pmdammv to scan. */
export function makePcpTmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pcp-agent-test-'));
  const mmv = join(dir, 'mmv');
  mkdirSync(mmv);
  // mkdir honours the umask; pmdammv only needs to read, but match what PCP ships.
  chmodSync(mmv, 0o755);
  return dir;
}

export function removePcpTmpDir(pcpTmpDir: string): void {
  rmSync(pcpTmpDir, { recursive: true, force: true });
}

const PMNS = `root {\n\tmmv\t${MMV_DOMAIN}:*:*\n}\n`;
let pmnsFile: string | undefined;

// Our own one-line PMNS: hosts where pcp's install scripts never ran have no
// /var/lib/pcp/pmns/root, and the host's namespace has no business in these tests anyway.
// One fixed path shared by all runs (written by rename, so racing workers are harmless),
// because vitest workers end without running exit hooks that could remove a per-run copy.
function privatePmns(): string {
  if (pmnsFile === undefined) {
    const dir = join(tmpdir(), 'pcp-agent-pmns');
    const file = join(dir, `root-${MMV_DOMAIN}`);
    mkdirSync(dir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, PMNS);
    renameSync(partial, file);
    pmnsFile = file;
  }
  return pmnsFile;
}

export class PminfoError extends Error {
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'PminfoError';
  }
}

/** pminfo arguments that load pmdammv in-process; exported so a failure can be rerun by hand. */
export function pminfoArgs(args: readonly string[], names: readonly string[]): string[] {
  return [
    '-L',
    '-n',
    privatePmns(),
    '-K',
    'clear',
    '-K',
    `add,${MMV_DOMAIN},${PMDA_MMV_PATH},mmv_init`,
    ...args,
    ...names,
  ];
}

/**
 * Runs pminfo against pcpTmpDir; rejects (with stdout and stderr) on a non-zero exit.
 * pmdammv skips a file with the PROCESS flag once its pid is dead, so such a file's writer
 * must be alive while this runs (a test process that wrote its own file is). Each run is a
 * fresh pmdammv, so its reload heuristics (generation, directory mtime) never go stale.
 */
export function pminfo(
  pcpTmpDir: string,
  args: readonly string[],
  names: readonly string[] = ['mmv'],
): Promise<string> {
  const argv = pminfoArgs(args, names);
  // An empty PCP_DERIVED_CONFIG keeps the host's derived metrics out of the namespace.
  const env = { ...process.env, PCP_TMP_DIR: pcpTmpDir, PCP_DERIVED_CONFIG: '' };
  return new Promise((resolve, reject) => {
    execFile(
      'pminfo',
      argv,
      { env, timeout: PMINFO_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve(stdout);
          return;
        }
        const how = error.killed
          ? `was killed (${error.signal ?? 'timeout'})`
          : `exited with ${error.code ?? error.signal}`;
        reject(
          new PminfoError(
            `pminfo ${argv.join(' ')} ${how}\nstderr:\n${stderr}\nstdout:\n${stdout}`,
            argv,
            stdout,
            stderr,
          ),
        );
      },
    );
  });
}

/** Type names as pminfo -d prints them, in the short form PCP's pmTypeStr uses. */
export type PminfoType =
  | '32'
  | 'U32'
  | '64'
  | 'U64'
  | 'FLOAT'
  | 'DOUBLE'
  | 'STRING'
  | 'AGGREGATE'
  | 'NOSUPPORT';

const TYPE_TEXT: Readonly<Record<string, PminfoType>> = {
  '32-bit int': '32',
  '32-bit unsigned int': 'U32',
  '64-bit int': '64',
  '64-bit unsigned int': 'U64',
  float: 'FLOAT',
  double: 'DOUBLE',
  string: 'STRING',
  aggregate: 'AGGREGATE',
  'Not Supported': 'NOSUPPORT',
};

/** Our type names mapped to what pminfo shows for them. */
export const PMINFO_TYPE = {
  i32: '32',
  u32: 'U32',
  i64: '64',
  u64: 'U64',
  float: 'FLOAT',
  double: 'DOUBLE',
  string: 'STRING',
} as const satisfies Record<string, PminfoType>;

export type PminfoSemantics = 'counter' | 'instant' | 'discrete';

/** Integers beyond 2^53 come back as bigint so 64-bit values survive exactly. */
export type PminfoValue = number | bigint | string;

export interface MetricValues {
  /** Keyed by instance name, or null for a singleton. Empty when there are no values. */
  values: Map<string | null, PminfoValue>;
  /** Instance name to internal instance id, in pminfo's order. */
  instanceIds: Map<string, number>;
  /** The "Error: ..." text pminfo printed instead of values, without "Error: ". */
  error: string | null;
}

export interface MetricDescription extends MetricValues {
  name: string;
  /** domain.cluster.item, e.g. '70.123.7'. */
  pmid: string;
  type: PminfoType;
  /** domain.serial, e.g. '70.251965', or null for PM_INDOM_NULL. */
  indom: string | null;
  semantics: PminfoSemantics;
  /** pmUnitsStr text, e.g. 'Mbyte / sec', 'count x 10^3'; '' when pminfo says "none". */
  units: string;
  oneLine: string | null;
  oneLineError: string | null;
  /** Long help; libpcp falls back to the one-line text when a metric has none. */
  help: string | null;
  helpError: string | null;
}

const ERROR_PREFIX = 'Error: ';
const NO_VALUES = 'No value(s) available!';
const HEADER_RE = /^(\S+) PMID: (\d+\.\d+\.\d+)(?: \[(.*)\]| One-line Help: Error: (.*))$/;
const TYPE_LINE_RE = /^ {4}Data Type: (.+?) {2}InDom: (PM_INDOM_NULL|\d+\.\d+) 0x[0-9a-f]+$/;
const SEM_LINE_RE = /^ {4}Semantics: (\S+) {2}Units: (.*)$/;
const VALUE_RE = /^ {4}(?:inst \[(-?\d+) or (?:"(.*?)"|\?\?\?)\] )?value (.*)$/;
const LABELS_RE = /^ {4}(?:inst \[(-?\d+) or (?:"(.*?)"|\?\?\?)\] )?labels (.*)$/;

function parseNumber(text: string, type?: PminfoType): number | bigint {
  if (type !== 'FLOAT' && type !== 'DOUBLE' && /^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  switch (text.toLowerCase()) {
    case 'nan':
    case '-nan':
      return Number.NaN;
    case 'inf':
      return Number.POSITIVE_INFINITY;
    case '-inf':
      return Number.NEGATIVE_INFINITY;
  }
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`pminfo printed an unparseable value: ${text}`);
  return n;
}

/** One value as pminfo prints it: strings in quotes (unescaped), numbers bare. */
export function parsePminfoValue(text: string, type?: PminfoType): PminfoValue {
  if (type === 'STRING' || (type === undefined && text.startsWith('"'))) {
    if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) {
      throw new Error(`pminfo printed a malformed string value: ${text}`);
    }
    return text.slice(1, -1);
  }
  return parseNumber(text, type);
}

function instanceKey(id: string | undefined, name: string | undefined): string {
  // pminfo prints ??? when it cannot name an instance; keep such values reachable by id.
  return name ?? `[${id}]`;
}

// Metric blocks of -f/-l output: a blank line, the name alone on a line, then its lines.
function splitNameBlocks(output: string): Array<{ name: string; lines: string[] }> {
  const blocks: Array<{ name: string; lines: string[] }> = [];
  const lines = output.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' && i + 1 < lines.length && /^[A-Za-z]\S*$/.test(lines[i + 1]!)) {
      blocks.push({ name: lines[i + 1]!, lines: [] });
      i++;
    } else if (blocks.length > 0) {
      blocks[blocks.length - 1]!.lines.push(line);
    } else if (line !== '') {
      throw new Error(`unexpected pminfo output before the first metric: ${line}`);
    }
  }
  return blocks;
}

function trimTrailingEmpty(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && lines[end - 1] === '') end--;
  return lines.slice(0, end);
}

function parseValueLines(name: string, lines: readonly string[], type?: PminfoType): MetricValues {
  const result: MetricValues = { values: new Map(), instanceIds: new Map(), error: null };
  // A string value containing newlines continues on unindented lines; gather them first.
  const entries: Array<{ id?: string; inst?: string; singleton: boolean; text: string }> = [];
  for (const line of trimTrailingEmpty([...lines])) {
    const m = VALUE_RE.exec(line);
    if (m !== null) {
      entries.push({ id: m[1], inst: m[2], singleton: m[1] === undefined, text: m[3]! });
    } else if (line === NO_VALUES && entries.length === 0) {
      // No values: leave the map empty.
    } else if (line.startsWith(ERROR_PREFIX) && entries.length === 0) {
      result.error = line.slice(ERROR_PREFIX.length);
    } else if (entries.length > 0 && entries[entries.length - 1]!.text.startsWith('"')) {
      entries[entries.length - 1]!.text += `\n${line}`;
    } else {
      throw new Error(`unexpected pminfo value line for ${name}: ${JSON.stringify(line)}`);
    }
  }
  for (const e of entries) {
    const value = parsePminfoValue(e.text, type);
    if (e.singleton) {
      result.values.set(null, value);
    } else {
      const key = instanceKey(e.id, e.inst);
      result.values.set(key, value);
      result.instanceIds.set(key, Number(e.id));
    }
  }
  return result;
}

/** Parses `pminfo -f` output; types (from -d) keep integer-looking doubles as numbers. */
export function parseFetchOutput(
  output: string,
  types?: ReadonlyMap<string, PminfoType>,
): Map<string, MetricValues> {
  const result = new Map<string, MetricValues>();
  for (const block of splitNameBlocks(output)) {
    result.set(block.name, parseValueLines(block.name, block.lines, types?.get(block.name)));
  }
  return result;
}

/** What -dmtT tells: a description without values. */
export type MetricDescriptor = Omit<MetricDescription, keyof MetricValues>;

/** Parses `pminfo -dmtT` output (descriptions and help, no values). */
export function parseDescribeOutput(output: string): Map<string, MetricDescriptor> {
  const result = new Map<string, MetricDescriptor>();
  const lines = output.split('\n');
  // Help text may hold blank lines, so a metric ends only where the next header begins.
  const starts: number[] = [];
  lines.forEach((line, i) => {
    if ((i === 0 || lines[i - 1] === '') && HEADER_RE.test(line)) starts.push(i);
  });
  if (starts.length === 0 && output.trim() !== '') {
    throw new Error(`no metric headers in pminfo output:\n${output}`);
  }
  starts.forEach((start, k) => {
    const block = trimTrailingEmpty(lines.slice(start, starts[k + 1] ?? lines.length));
    const header = HEADER_RE.exec(block[0]!)!;
    const name = header[1]!;
    const typeLine = TYPE_LINE_RE.exec(block[1] ?? '');
    const semLine = SEM_LINE_RE.exec(block[2] ?? '');
    if (typeLine === null || semLine === null) {
      throw new Error(`unexpected pminfo description of ${name}:\n${block.join('\n')}`);
    }
    const type = TYPE_TEXT[typeLine[1]!];
    if (type === undefined) throw new Error(`unknown pminfo type for ${name}: ${typeLine[1]}`);
    const semantics = semLine[1]!;
    if (semantics !== 'counter' && semantics !== 'instant' && semantics !== 'discrete') {
      throw new Error(`unknown pminfo semantics for ${name}: ${semantics}`);
    }
    let help: string | null = null;
    let helpError: string | null = null;
    const helpLine = block[3];
    if (helpLine === 'Help:') {
      help = block.slice(4).join('\n');
    } else if (helpLine?.startsWith('Full Help: Error: ')) {
      helpError = helpLine.slice('Full Help: Error: '.length);
    } else {
      throw new Error(`no help section for ${name} (run with -T):\n${block.join('\n')}`);
    }
    result.set(name, {
      name,
      pmid: header[2]!,
      type,
      indom: typeLine[2] === 'PM_INDOM_NULL' ? null : typeLine[2]!,
      semantics,
      units: semLine[2] === 'none' ? '' : semLine[2]!,
      oneLine: header[3] ?? null,
      oneLineError: header[4] ?? null,
      help,
      helpError,
    });
  });
  return result;
}

/**
 * Every metric under prefix with its description, help and values, in pminfo's order.
 * Descriptions and values come from two runs because help text may hold blank lines and
 * lines that look like values, which would make the output of -dfmtT ambiguous.
 */
export async function describeMetrics(
  pcpTmpDir: string,
  prefix = 'mmv',
): Promise<Map<string, MetricDescription>> {
  const [described, fetched] = await Promise.all([
    pminfo(pcpTmpDir, ['-dmtT'], [prefix]),
    pminfo(pcpTmpDir, ['-f'], [prefix]),
  ]);
  const descriptions = parseDescribeOutput(described);
  const types = new Map([...descriptions].map(([name, d]) => [name, d.type] as const));
  const values = parseFetchOutput(fetched, types);
  const result = new Map<string, MetricDescription>();
  for (const [name, d] of descriptions) {
    const v = values.get(name);
    if (v === undefined) throw new Error(`pminfo -f did not list ${name}`);
    result.set(name, { ...d, ...v });
  }
  return result;
}

/** Values only (`pminfo -f`), for the given metric names or name prefixes. */
export async function fetchValues(
  pcpTmpDir: string,
  names: readonly string[],
): Promise<Map<string, MetricValues>> {
  return parseFetchOutput(await pminfo(pcpTmpDir, ['-f'], names));
}

/** Metric names under prefix (`pminfo <prefix>`); [] when PCP knows no such name. */
export async function metricNames(pcpTmpDir: string, prefix = 'mmv'): Promise<string[]> {
  try {
    const out = await pminfo(pcpTmpDir, [], [prefix]);
    return out.split('\n').filter((line) => line !== '');
  } catch (error) {
    if (error instanceof PminfoError && /Unknown metric name/.test(error.stderr)) return [];
    throw error;
  }
}

export type LabelValue = string | number | boolean | null | LabelValue[] | LabelSet;
export interface LabelSet {
  [key: string]: LabelValue;
}

export interface MetricLabels {
  /** The metric's merged label set: context, domain, cluster, item and indom labels. */
  labels: LabelSet;
  /** Per instance name, the merged set including that instance's own labels. */
  instances: Map<string, LabelSet>;
}

/**
 * Keys PCP itself adds to every label set on a plain host (context labels and the
 * domain's "agent"). Hosts may add more via /etc/pcp/labels, so prefer subset checks.
 */
export const PCP_OWN_LABEL_KEYS: readonly string[] = [
  'agent',
  'domainname',
  'groupid',
  'hostname',
  'machineid',
  'userid',
];

/** A label set without PCP's own keys: what the MMV file contributed (unless it overrode one). */
export function ownLabels(set: LabelSet): LabelSet {
  return Object.fromEntries(Object.entries(set).filter(([k]) => !PCP_OWN_LABEL_KEYS.includes(k)));
}

/** Parses `pminfo -l` output. pminfo prints nested maps flattened, e.g. {"a.b":1}. */
export function parseLabelsOutput(output: string): Map<string, MetricLabels> {
  const result = new Map<string, MetricLabels>();
  for (const block of splitNameBlocks(output)) {
    const entry: MetricLabels = { labels: {}, instances: new Map() };
    for (const line of trimTrailingEmpty(block.lines)) {
      const m = LABELS_RE.exec(line);
      if (m === null) {
        throw new Error(`unexpected pminfo label line for ${block.name}: ${JSON.stringify(line)}`);
      }
      const set = JSON.parse(m[3]!) as LabelSet;
      if (m[1] === undefined) entry.labels = set;
      else entry.instances.set(instanceKey(m[1], m[2]), set);
    }
    result.set(block.name, entry);
  }
  return result;
}

/** Label sets per metric (and per instance) under prefix, via `pminfo -l`. */
export async function labels(
  pcpTmpDir: string,
  prefix = 'mmv',
): Promise<Map<string, MetricLabels>> {
  return parseLabelsOutput(await pminfo(pcpTmpDir, ['-l'], [prefix]));
}
