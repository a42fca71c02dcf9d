// Renders a decoded MMV file for people (laid out like PCP's mmvdump) and as JSON for tools.
// Pure functions over MmvFile: reading the file is the reader's job, printing is main's.

import { Flag } from '../mmv/format';
import {
  type MmvFile,
  type MmvLabel,
  type MmvMetric,
  type MmvValue,
  printable,
} from '../mmv/reader';
import { formatUnits } from '../mmv/units';

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

// Every text from the file goes through printable(): names, help, strings and labels are
// written by whichever process owns the file, and must not reach the terminal as controls.
const quoted = (text: string): string => printable(JSON.stringify(text));

/** Header flags as mmvdump names them, e.g. "0x3 (noprefix,process)". */
export function formatFlags(flags: number): string {
  const names: string[] = [];
  if (flags & Flag.NOPREFIX) names.push('noprefix');
  if (flags & Flag.PROCESS) names.push('process');
  if (flags & Flag.SENTINEL) names.push('sentinel');
  const rest = flags & ~(Flag.NOPREFIX | Flag.PROCESS | Flag.SENTINEL);
  if (rest) names.push(`unknown ${hex(rest)}`);
  return `${hex(flags)} (${names.length ? names.join(',') : 'none'})`;
}

/**
 * PCP's C library writes `seconds << 32 | microseconds` as the generation; when a value looks
 * like that, its date helps a person tell an old file from a fresh one.
 */
export function generationDate(gen: bigint): string | null {
  const seconds = Number(gen >> 32n);
  const micros = Number(gen & 0xffffffffn);
  if (seconds < 946684800 || seconds > 4102444800 || micros >= 1_000_000) return null;
  return new Date(seconds * 1000 + Math.floor(micros / 1000)).toISOString();
}

/** The shortest decimal that reads back as the same float32. */
function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  return String(v);
}

export function formatValue(v: MmvValue): string {
  if (typeof v.value === 'string') return quoted(v.value);
  if (v.typeName === 'float' && typeof v.value === 'number') return formatFloat32(v.value);
  if (v.typeName === 'elapsed' && v.extra !== 0n) {
    // A negative extra is the start time of a timed section still running (mmv_stats_interval_start).
    return `${v.value} (extra=${v.extra}, interval in progress)`;
  }
  return String(v.value);
}

function metricLines(m: MmvMetric): string[] {
  const sem =
    m.semanticsName === 'unknown' && m.semantics === 0
      ? 'none (pmdammv serves it as counter)'
      : m.semanticsName;
  const lines = [
    `  [${m.item}/${m.offset}] ${printable(m.name)}`,
    `       type=${m.typeName} (${hex(m.type)}), sem=${sem} (${hex(m.semantics)})`,
    `       units=${formatUnits(m.units) || 'none'} (${hex(m.unitsWord)})`,
    m.indom === null ? '       (no indom)' : `       indom=${m.indom}`,
    m.shortHelp === null ? '       (no shorttext)' : `       shorttext=${printable(m.shortHelp)}`,
    m.longHelp === null ? '       (no helptext)' : `       helptext=${printable(m.longHelp)}`,
  ];
  return lines;
}

function labelLines(l: MmvLabel, i: number): string[] {
  const kind = l.optional ? `${l.kind},optional` : l.kind;
  const inst = l.instance === null ? 'none' : String(l.instance);
  const lines = [
    `  [${i + 1}/${l.offset}] ${printable(l.payload)}`,
    `       flags=${hex(l.flags)} (${kind}), identity=${l.identity}, instance=${inst}`,
  ];
  if (l.parsed === null) lines.push('       (payload is not a JSON object)');
  return lines;
}

/** A readable dump of every section, in the order a reader of mmv(5) expects. */
export function formatDump(file: MmvFile, source?: string): string {
  const out: string[] = [];
  if (source !== undefined) out.push(`MMV file   = ${printable(source)}`);
  out.push(`Version    = ${file.version}`);
  const date = generationDate(file.generation1);
  out.push(`Generated  = ${file.generation1}${date ? ` (${date})` : ''}`);
  if (file.generation2 !== file.generation1) out.push(`Generated2 = ${file.generation2}`);
  if (!file.stable) {
    out.push(
      file.generation1 === 0n
        ? 'Unstable   = generation is 0 (not yet written; pmdammv would skip it)'
        : 'Unstable   = generation numbers differ (being written; pmdammv would skip it)',
    );
  }
  out.push(`TOC count  = ${file.toc.length}`);
  out.push(`Cluster    = ${file.cluster}`);
  out.push(`Process    = ${file.pid}`);
  out.push(`Flags      = ${formatFlags(file.flags)}`);
  out.push(`Size       = ${file.size} bytes`);

  out.push('', 'TOC:');
  file.toc.forEach((t, i) => {
    out.push(
      `  TOC[${i}]: offset ${t.offset}, ${t.section} (type ${t.type}) at offset ${t.sectionOffset} (${t.count} entries)`,
    );
  });

  out.push('', `Indoms (${file.indoms.length}):`);
  for (const d of file.indoms) {
    out.push(
      `  [${d.serial}/${d.offset}] ${d.instances.length} instances, starting at offset ${d.instancesOffset}`,
    );
    out.push(
      d.shortHelp === null ? '       (no shorttext)' : `       shorttext=${printable(d.shortHelp)}`,
    );
    out.push(
      d.longHelp === null ? '       (no helptext)' : `       helptext=${printable(d.longHelp)}`,
    );
    for (const inst of d.instances) {
      out.push(`       instance [${inst.id} or ${quoted(inst.name)}] at offset ${inst.offset}`);
    }
  }

  out.push('', `Metrics (${file.metrics.length}):`);
  for (const m of file.metrics) out.push(...metricLines(m));

  const items = new Map(file.metrics.map((m) => [m.offset, m.item]));
  out.push('', `Values (${file.values.length}):`);
  for (const v of file.values) {
    const inst = v.instance === null ? '' : `[${v.instanceId} or ${quoted(v.instance)}]`;
    out.push(
      `  [${items.get(v.metricOffset)}/${v.offset}] ${printable(v.metric)}${inst} = ${formatValue(v)}`,
    );
  }

  out.push('', `Strings (${file.strings.length}):`);
  file.strings.forEach((s, i) => {
    out.push(`  [${i + 1}/${s.offset}] ${printable(s.text)}`);
  });

  if (file.labels.length > 0 || file.version >= 3) {
    out.push('', `Labels (${file.labels.length}):`);
    file.labels.forEach((l, i) => {
      out.push(...labelLines(l, i));
    });
  }

  if (file.warnings.length > 0) {
    out.push('', `Warnings (${file.warnings.length}):`);
    for (const w of file.warnings) out.push(`  - ${w}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * The decoded file as JSON: bigints become decimal strings and non-finite floats their
 * names, since JSON has neither (a NaN sentinel would otherwise turn into null).
 */
export function formatJson(file: MmvFile): string {
  return `${JSON.stringify(
    file,
    (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
      return value;
    },
    2,
  )}\n`;
}
