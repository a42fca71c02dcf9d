// `pcp-agent watch`: one MMV file's metrics, re-read every interval the way pmdammv reads it
// (stable generations only, PROCESS pids checked), with a rate per second for counters.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PcpAgentError } from '../errors';
import { mmvDir } from '../file/paths';
import { Header, MAGIC } from '../mmv/format';
import { MAX_FILE_SIZE, type MmvFile, type MmvMetric, type MmvValue, readMmv } from '../mmv/reader';
import { formatUnits } from '../mmv/units';
import { formatValue } from './dump';
import { isListError, type ListedFile, listMmvFiles, pidAlive } from './list';
import { type CliIo, ExitCode } from './run';

/** What a frame needs besides the two samples. */
export interface FrameView {
  /** The watched file's path, shown in the header. */
  readonly source: string;
  /** Whether the file's pid is running now (null when the pid is not a real one). */
  readonly alive: boolean | null;
  /** Show only metrics whose name (relative to the file's prefix) starts with this. */
  readonly filter?: string;
}

interface Row {
  readonly metric: string;
  readonly instance: string;
  readonly value: Cell;
  readonly rate: Cell;
}

/** A number (right-aligned among numbers) and its units, or text as it is. */
interface Cell {
  readonly number: string;
  readonly units: string;
  readonly text: boolean;
}

const EMPTY: Cell = { number: '', units: '', text: true };
const collator = new Intl.Collator('en', { numeric: true });

/** The header, "process <pid> is gone" or a table; pure, so tests need no terminal or clock. */
export function renderFrame(
  previous: MmvFile | null,
  current: MmvFile,
  elapsedSeconds: number,
  view: FrameView,
): string[] {
  const lines = header(current, view);
  if (current.process && view.alive === false) {
    lines.push('', `process ${current.pid} is gone (pmdammv ignores its file)`);
    return lines;
  }
  const filter = view.filter ?? '';
  const prefixes = filter.split(',').filter((p) => p !== '');
  const shown =
    prefixes.length === 0
      ? current.values
      : current.values.filter((v) => prefixes.some((p) => v.metric.startsWith(p)));
  if (filter !== '') {
    lines.push(
      `${shown.length} of ${current.values.length} values match ${JSON.stringify(filter)}`,
    );
  }
  if (shown.length === 0) {
    lines.push('', 'no values to show');
    return lines;
  }
  // A new generation is a new layout: the old values may belong to other metrics.
  const before =
    previous !== null && previous.generation1 === current.generation1
      ? new Map(previous.values.map((v) => [valueKey(v), v]))
      : new Map<string, MmvValue>();
  const metrics = new Map(current.metrics.map((m) => [m.offset, m]));
  const rows = shown
    .map((v): Row => {
      const metric = metrics.get(v.metricOffset)!;
      return {
        metric: v.metric,
        instance: v.instance ?? '',
        value: valueCell(v, metric),
        rate: rateCell(before.get(valueKey(v)), v, metric, elapsedSeconds),
      };
    })
    .sort(
      (a, b) => collator.compare(a.metric, b.metric) || collator.compare(a.instance, b.instance),
    );
  lines.push('', ...table(rows));
  return lines;
}

function header(file: MmvFile, view: FrameView): string[] {
  const prefix = file.noPrefix ? 'mmv.' : `mmv.${path.basename(view.source)}.`;
  const alive = view.alive === null ? 'unknown' : view.alive ? 'alive' : 'not running';
  const instances = file.indoms.reduce((n, d) => n + d.instances.length, 0);
  const lines = [
    `${view.source}  (PCP names ${prefix}*)`,
    `pid ${file.pid} ${alive}${file.process ? '' : ' (no PROCESS flag)'}, version ${file.version}, ` +
      `${plural(file.metrics.length, 'metric')}, ${plural(instances, 'instance')}, ` +
      `${plural(file.values.length, 'value')}`,
  ];
  if (file.warnings.length > 0) {
    lines.push(`${plural(file.warnings.length, 'warning')}: see pcp-agent dump`);
  }
  return lines;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const valueKey = (v: MmvValue): string => `${v.metric}\0${v.instance ?? ''}`;

function valueCell(v: MmvValue, metric: MmvMetric): Cell {
  if (typeof v.value === 'string') return { number: formatValue(v), units: '', text: true };
  // A double such as a flush time in microseconds has more digits than a person reads.
  const number =
    metric.typeName === 'double' && typeof v.value === 'number' && Number.isFinite(v.value)
      ? formatDecimal(v.value)
      : formatValue(v);
  return { number, units: formatUnits(metric.units), text: false };
}

/**
 * A counter's increase per second since the previous sample; none on the first sample, after
 * the counter went backwards (a restart) or when no time passed.
 */
function rateCell(
  before: MmvValue | undefined,
  now: MmvValue,
  metric: MmvMetric,
  elapsedSeconds: number,
): Cell {
  if (metric.semanticsName !== 'counter' || before === undefined || !(elapsedSeconds > 0)) {
    return EMPTY;
  }
  const delta = difference(before.value, now.value);
  if (delta === null || delta < 0) return EMPTY;
  return {
    number: formatDecimal(delta / elapsedSeconds),
    units: `${formatUnits(metric.units)}/s`,
    text: false,
  };
}

/** now - before, exactly for 64-bit integers (a bigint delta is small enough for a number). */
function difference(before: MmvValue['value'], now: MmvValue['value']): number | null {
  if (typeof before === 'bigint' && typeof now === 'bigint') return Number(now - before);
  if (typeof before === 'number' && typeof now === 'number') {
    const d = now - before;
    return Number.isFinite(d) ? d : null;
  }
  return null;
}

/** Whole numbers as they are, others to two decimals (three significant digits below 1). */
export function formatDecimal(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3)));
}

/** Aligned columns; a metric's name is printed on its first row only. */
function table(rows: readonly Row[]): string[] {
  const numberWidth = (cells: readonly Cell[]): number =>
    Math.max(0, ...cells.filter((c) => !c.text).map((c) => c.number.length));
  const valueWidth = numberWidth(rows.map((r) => r.value));
  const rateWidth = numberWidth(rows.map((r) => r.rate));
  const cell = (c: Cell, width: number): string => {
    const n = c.text ? c.number : c.number.padStart(width);
    return c.units ? `${n} ${c.units}` : n;
  };
  const cells = rows.map((r, i) => [
    i > 0 && rows[i - 1]!.metric === r.metric ? '' : r.metric,
    r.instance,
    cell(r.value, valueWidth),
    cell(r.rate, rateWidth),
  ]);
  const head = ['METRIC', 'INSTANCE', 'VALUE', 'RATE'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) =>
    c
      .map((s, i) => s.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

/** One read of the file, as pmdammv would judge it. */
export type WatchRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'changing'; readonly reason: string }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'ok'; readonly file: MmvFile };

/**
 * Reads the whole file through one descriptor, then reads its generations again: a writer
 * that rewrote the file meanwhile (or is still filling it) makes this read "changing", to be
 * retried at the next tick, as pmdammv skips a file whose gen1 and gen2 differ.
 */
export function readForWatch(file: string): WatchRead {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'error', message: `cannot read ${file}: ${code ?? (err as Error).message}` };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { kind: 'error', message: `${file}: not a regular file` };
    if (st.size > MAX_FILE_SIZE) {
      return { kind: 'error', message: `${file}: ${st.size} bytes is too large for an MMV file` };
    }
    const bytes = fs.readFileSync(fd);
    if (bytes.length >= Header.TOC_COUNT) {
      const again = Buffer.alloc(Header.TOC_COUNT);
      fs.readSync(fd, again, 0, again.length, 0);
      const gens = (b: Buffer): Buffer => b.subarray(Header.GEN1, Header.TOC_COUNT);
      if (!gens(bytes).equals(gens(again))) {
        return { kind: 'changing', reason: 'rewritten while being read' };
      }
    }
    const unstable = unstableReason(bytes);
    try {
      const mmv = readMmv(bytes);
      return unstable ? { kind: 'changing', reason: unstable } : { kind: 'ok', file: mmv };
    } catch (err) {
      if (!(err instanceof PcpAgentError)) throw err;
      // A file still being filled may not decode yet; only a finished one is really broken.
      if (unstable) return { kind: 'changing', reason: unstable };
      return { kind: 'error', message: `${file}: ${err.message}` };
    }
  } catch (err) {
    if (err instanceof PcpAgentError) throw err;
    const e = err as NodeJS.ErrnoException;
    return { kind: 'error', message: `cannot read ${file}: ${e.code ?? e.message}` };
  } finally {
    fs.closeSync(fd);
  }
}

/** Why pmdammv would skip the file for now, from the raw header; null when it would not. */
function unstableReason(bytes: Uint8Array): string | null {
  if (bytes.length < Header.TOC_COUNT) return null;
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const gen1 = view.getBigUint64(Header.GEN1, true);
  const gen2 = view.getBigUint64(Header.GEN2, true);
  if (gen1 === 0n) return 'generation is 0 (not written yet)';
  if (gen1 !== gen2) return 'generation numbers differ (being written)';
  return null;
}

export interface WatchOptions {
  readonly path: string;
  readonly intervalMs: number;
  /** Frames to show before returning; null for no limit. */
  readonly count: number | null;
  readonly filter: string;
}

export interface WatchIo {
  write(text: string): void;
  /** Clear the screen before each frame, instead of separating frames by a blank line. */
  readonly isTTY: boolean;
}

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/** Shows frames until `count` runs out or `signal` aborts (Ctrl-C). */
export async function watch(
  options: WatchOptions,
  io: WatchIo,
  signal?: AbortSignal,
): Promise<void> {
  let previous: { file: MmvFile; at: number } | null = null;
  let lastBody: string[] = [];
  for (let frame = 0; options.count === null || frame < options.count; frame++) {
    if (frame > 0) {
      try {
        await delay(options.intervalMs, undefined, { signal });
      } catch {
        return; // aborted
      }
    }
    if (signal?.aborted) return;
    const at = performance.now();
    const read = readForWatch(options.path);
    let body: string[];
    switch (read.kind) {
      case 'missing':
        body = [`waiting for ${options.path}`];
        break;
      case 'error':
        body = [read.message, 'retrying'];
        break;
      case 'changing':
        // Keep the last good frame on screen; rates resume from the last good sample.
        body = [
          ...lastBody,
          ...(lastBody.length > 0 ? [''] : []),
          `${options.path}: ${read.reason}; retrying`,
        ];
        break;
      case 'ok': {
        const elapsed = previous ? (at - previous.at) / 1000 : 0;
        body = renderFrame(previous?.file ?? null, read.file, elapsed, {
          source: options.path,
          alive: pidAlive(read.file.pid),
          filter: options.filter,
        });
        previous = { file: read.file, at };
        lastBody = body;
        break;
      }
    }
    const stamp = new Date().toISOString();
    const text = `${stamp}  every ${options.intervalMs} ms\n${body.join('\n')}\n`;
    io.write(io.isTTY ? `${CLEAR_SCREEN}${text}` : frame > 0 ? `\n${text}` : text);
  }
}

/** The `watch` entry of the usage text. */
export function watchUsage(env: NodeJS.ProcessEnv): string {
  return `  watch [name] [options]         Show one MMV file's values live, with a rate per second for
                                 counters. name is a file in ${mmvDir(env)}
                                 (or --dir DIR), or a path; without it, the one file whose
                                 process is alive. --interval MS (default 1000, >= 100),
                                 --count N (stop after N frames), --filter PREFIX[,PREFIX...]. Ctrl-C stops.
`;
}

class WatchUsageError extends Error {}

/** Parses a whole-number option; a bad value is a usage error naming the option and value. */
function wholeNumber(
  option: string,
  raw: string | undefined,
  min: number,
  what: string,
): number | null {
  if (raw === undefined) return null;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new WatchUsageError(`${option} must be ${what} >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Runs node's parseArgs, turning its complaints into usage errors. */
function parseWatchArgs(args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      options: {
        dir: { type: 'string' },
        interval: { type: 'string' },
        count: { type: 'string' },
        filter: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new WatchUsageError((err as Error).message);
  }
}

/**
 * The file to watch with no name given: the one whose writer is alive. Throws a usage error
 * listing the candidates when there are none or several.
 */
function chooseFile(dir: string): string {
  const entries = listMmvFiles(dir);
  const files = entries.filter((e): e is ListedFile => !isListError(e));
  const live = files.filter((e) => e.alive === true);
  if (live.length === 1) return live[0]!.path;
  const describe = (list: readonly ListedFile[]): string =>
    list.map((e) => `\n  ${e.name}  (pid ${e.pid}${e.alive ? '' : ', not running'})`).join('');
  if (live.length > 1) {
    throw new WatchUsageError(
      `watch needs a name: ${live.length} files in ${dir} belong to live processes:${describe(live)}`,
    );
  }
  throw new WatchUsageError(
    files.length === 0
      ? `watch needs a name: no MMV files in ${dir}`
      : `watch needs a name: no file in ${dir} belongs to a live process:${describe(files)}`,
  );
}

/** `pcp-agent watch [name] [options]`; resolves with the exit code once it stops. */
export async function runWatch(
  args: readonly string[],
  io: CliIo & { readonly isTTY: boolean },
  signal?: AbortSignal,
): Promise<ExitCode> {
  let options: WatchOptions;
  try {
    const { values, positionals } = parseWatchArgs(args);
    if (values.help) {
      io.stdout(`Usage: pcp-agent watch [name] [options]\n\n${watchUsage(io.env)}`);
      return ExitCode.OK;
    }
    if (positionals.length > 1) {
      throw new WatchUsageError(`watch takes at most one name, got ${positionals.length}`);
    }
    if (values.dir === '') throw new WatchUsageError('--dir needs a directory');
    const intervalMs =
      wholeNumber('--interval', values.interval, 100, 'a whole number of milliseconds') ?? 1000;
    const count = wholeNumber('--count', values.count, 1, 'a whole number of frames');
    const dir = values.dir ?? mmvDir(io.env);
    const name = positionals[0];
    if (name === '') throw new WatchUsageError('watch needs a file name or path, got ""');
    const file =
      name === undefined ? chooseFile(dir) : name.includes('/') ? name : path.join(dir, name);
    options = { path: file, intervalMs, count, filter: values.filter ?? '' };
  } catch (err) {
    if (err instanceof WatchUsageError) {
      io.stderr(`pcp-agent: ${err.message}\nRun "pcp-agent help" for usage.\n`);
      return ExitCode.USAGE;
    }
    if (err instanceof PcpAgentError) {
      io.stderr(`pcp-agent: ${err.message}\n`);
      return ExitCode.FILE_ERROR;
    }
    throw err;
  }
  await watch(options, { write: io.stdout, isTTY: io.isTTY }, signal);
  return ExitCode.OK;
}
