// Decodes any MMV file (version 1, 2 or 3, from us or from another writer) into typed records,
// checking every count and offset against the file so malformed input fails with a clear error.

import * as fs from 'node:fs';
import { PcpAgentError } from '../errors';
import {
  Flag,
  Header,
  INDOM_NONE,
  INSTANCE_NONE,
  Indom,
  InstanceV1,
  InstanceV2,
  LABEL_PAYLOAD_MAX,
  Label,
  LabelFlag,
  Limits,
  MAGIC,
  MetricV1,
  MetricV2,
  NAME_MAX_V1,
  SemanticsCode,
  Size,
  STRING_MAX,
  Toc,
  TocType,
  TypeCode,
  Value,
  Version,
} from './format';
import { decodeUnits, type Units } from './units';

export type MmvTypeName =
  | 'i32'
  | 'u32'
  | 'i64'
  | 'u64'
  | 'float'
  | 'double'
  | 'string'
  | 'elapsed'
  | 'unknown';
export type MmvSemanticsName = 'counter' | 'instant' | 'discrete' | 'unknown';
export type MmvSectionName =
  | 'indoms'
  | 'instances'
  | 'metrics'
  | 'values'
  | 'strings'
  | 'labels'
  | 'unknown';
export type MmvLabelKind =
  | 'context'
  | 'domain'
  | 'indom'
  | 'cluster'
  | 'item'
  | 'instances'
  | 'unknown';

/** One table-of-contents entry. */
export interface MmvTocEntry {
  /** Where this TOC entry itself sits in the file. */
  readonly offset: number;
  readonly type: number;
  readonly section: MmvSectionName;
  readonly count: number;
  /** Offset of the section's first record (for an unknown type, as written, maybe unchecked). */
  readonly sectionOffset: number;
}

export interface MmvInstance {
  readonly id: number;
  readonly name: string;
  readonly offset: number;
}

export interface MmvIndom {
  readonly serial: number;
  readonly instances: readonly MmvInstance[];
  readonly shortHelp: string | null;
  readonly longHelp: string | null;
  readonly offset: number;
  /** Offset of the first instance record, as written (0 when the indom has none). */
  readonly instancesOffset: number;
}

export interface MmvMetric {
  readonly name: string;
  readonly item: number;
  readonly type: number;
  readonly typeName: MmvTypeName;
  readonly semantics: number;
  readonly semanticsName: MmvSemanticsName;
  readonly units: Units;
  /** The pmUnits word as stored. */
  readonly unitsWord: number;
  /**
   * Instance domain serial, or null for a singleton. Both -1 (PM_INDOM_NULL) and 0 mean
   * "singleton": pmdammv and libpcp_mmv treat them alike.
   */
  readonly indom: number | null;
  /** The i32 indom field as stored. */
  readonly indomField: number;
  readonly shortHelp: string | null;
  readonly longHelp: string | null;
  readonly offset: number;
}

export interface MmvValue {
  readonly offset: number;
  readonly metric: string;
  readonly metricOffset: number;
  readonly typeName: MmvTypeName;
  /** Instance name, or null for a singleton metric. */
  readonly instance: string | null;
  readonly instanceId: number | null;
  /** The instance offset as stored (0 for a singleton). */
  readonly instanceOffset: number;
  /** i64, u64 and elapsed as bigint; i32, u32, float, double as number; strings as text. */
  readonly value: number | bigint | string;
  /** The i64 extra field: a string's slot offset, or an elapsed metric's running start. */
  readonly extra: bigint;
}

export interface MmvLabel {
  readonly offset: number;
  readonly flags: number;
  readonly kind: MmvLabelKind;
  readonly optional: boolean;
  /** Indom serial, cluster or item, depending on the kind. */
  readonly identity: number;
  /** Instance id, or null when the label is not for one instance (-1). */
  readonly instance: number | null;
  readonly payload: string;
  /** The payload as a JSON object, or null when it is not a valid JSON object. */
  readonly parsed: Readonly<Record<string, unknown>> | null;
}

export interface MmvString {
  readonly offset: number;
  readonly text: string;
}

export interface MmvFile {
  /** File length in bytes. */
  readonly size: number;
  readonly version: number;
  readonly generation1: bigint;
  readonly generation2: bigint;
  /** gen1 != 0 and gen1 == gen2: a writer finished it, and pmdammv would accept it. */
  readonly stable: boolean;
  readonly flags: number;
  readonly noPrefix: boolean;
  readonly process: boolean;
  readonly sentinel: boolean;
  readonly pid: number;
  readonly cluster: number;
  readonly toc: readonly MmvTocEntry[];
  readonly indoms: readonly MmvIndom[];
  readonly metrics: readonly MmvMetric[];
  readonly values: readonly MmvValue[];
  readonly strings: readonly MmvString[];
  readonly labels: readonly MmvLabel[];
  /** Oddities that do not stop decoding: unknown TOC types, dangling references, ... */
  readonly warnings: readonly string[];
}

const TYPE_NAMES: ReadonlyMap<number, MmvTypeName> = new Map([
  [TypeCode.I32, 'i32'],
  [TypeCode.U32, 'u32'],
  [TypeCode.I64, 'i64'],
  [TypeCode.U64, 'u64'],
  [TypeCode.FLOAT, 'float'],
  [TypeCode.DOUBLE, 'double'],
  [TypeCode.STRING, 'string'],
  [TypeCode.ELAPSED, 'elapsed'],
]);

const SEMANTICS_NAMES: ReadonlyMap<number, MmvSemanticsName> = new Map([
  [SemanticsCode.COUNTER, 'counter'],
  [SemanticsCode.INSTANT, 'instant'],
  [SemanticsCode.DISCRETE, 'discrete'],
]);

const SECTION_NAMES: ReadonlyMap<number, MmvSectionName> = new Map([
  [TocType.INDOMS, 'indoms'],
  [TocType.INSTANCES, 'instances'],
  [TocType.METRICS, 'metrics'],
  [TocType.VALUES, 'values'],
  [TocType.STRINGS, 'strings'],
  [TocType.LABELS, 'labels'],
]);

const LABEL_KINDS: ReadonlyMap<number, MmvLabelKind> = new Map([
  [LabelFlag.CONTEXT, 'context'],
  [LabelFlag.DOMAIN, 'domain'],
  [LabelFlag.INDOM, 'indom'],
  [LabelFlag.CLUSTER, 'cluster'],
  [LabelFlag.ITEM, 'item'],
  [LabelFlag.INSTANCES, 'instances'],
]);

const typeName = (code: number): MmvTypeName => TYPE_NAMES.get(code) ?? 'unknown';
const semanticsName = (code: number): MmvSemanticsName => SEMANTICS_NAMES.get(code) ?? 'unknown';
const sectionName = (code: number): MmvSectionName => SECTION_NAMES.get(code) ?? 'unknown';
const labelKind = (flags: number): MmvLabelKind =>
  LABEL_KINDS.get(flags & ~LabelFlag.OPTIONAL) ?? 'unknown';

/** A file larger than this cannot be an MMV file any writer produces; refuse to load it. */
export const MAX_FILE_SIZE = 256 * 1024 * 1024;

// Sections pmdammv never reads as a whole (it follows offsets into them), so it sets no
// count limit on them; a big registry's string section passes 10000 legitimately.
const UNLIMITED_SECTIONS: ReadonlySet<number> = new Set([TocType.INSTANCES, TocType.STRINGS]);

// ignoreBOM: a text that starts with U+FEFF keeps it, as PCP does (the default would drop it).
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

/**
 * Text decoded from a file, safe to print: C0 and C1 control characters and DEL become
 * escapes (`\n`, `\u001b`). Any process that can write the MMV directory writes the text, and
 * it must not move the cursor, recolour or retitle the terminal of whoever reads a dump or an
 * error, nor break a one-line message; JSON.stringify alone leaves DEL and C1 (CSI, U+009B) raw.
 */
export function printable(text: string): string {
  return text.replace(
    CONTROL_CHARS,
    (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A name or text from the file as a message shows it: quoted and printable. */
const shown = (text: string): string => printable(JSON.stringify(text));

function formatError(message: string): PcpAgentError {
  return new PcpAgentError('PCP_AGENT_ERR_FORMAT', message);
}

/** Bounds-checked little-endian access to the file; every failure names the offset. */
class Bytes {
  readonly view: DataView;
  readonly length: number;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
  }

  need(at: number, size: number, what: string): void {
    if (at < 0 || at + size > this.length) {
      throw formatError(
        `${what} at offset ${at} needs ${size} bytes but the file ends at ${this.length}`,
      );
    }
  }

  i32(at: number): number {
    this.need(at, 4, 'i32');
    return this.view.getInt32(at, true);
  }

  u32(at: number): number {
    this.need(at, 4, 'u32');
    return this.view.getUint32(at, true);
  }

  i64(at: number): bigint {
    this.need(at, 8, 'i64');
    return this.view.getBigInt64(at, true);
  }

  u64(at: number): bigint {
    this.need(at, 8, 'u64');
    return this.view.getBigUint64(at, true);
  }

  /**
   * A u64 offset field that must point at `size` bytes inside the file. Returns it as a
   * number, which is exact because it is bounded by the file length.
   */
  offset(at: number, size: number, what: string): number {
    const raw = this.u64(at);
    if (raw + BigInt(size) > BigInt(this.length)) {
      throw formatError(
        `${what}: offset ${raw} (field at offset ${at}) points outside the file ` +
          `(${size} bytes needed, file is ${this.length} bytes)`,
      );
    }
    return Number(raw);
  }

  /** A NUL-terminated string in a field of `max` bytes; the NUL must be inside the field. */
  cstring(at: number, max: number, what: string): string {
    this.need(at, max, what);
    const nul = this.bytes.subarray(at, at + max).indexOf(0);
    if (nul < 0) {
      throw formatError(`${what} at offset ${at} has no NUL terminator within ${max} bytes`);
    }
    return utf8.decode(this.bytes.subarray(at, at + nul));
  }

  /** A string slot (256 bytes) referenced by the u64 field at `at`; 0 means none. */
  stringRef(at: number, what: string): string | null {
    if (this.u64(at) === 0n) return null;
    const slot = this.offset(at, STRING_MAX, what);
    return this.cstring(slot, STRING_MAX, what);
  }
}

interface Layout {
  instanceSize: number;
  metricSize: number;
  v1: boolean;
}

interface Section {
  entry: MmvTocEntry;
  offset: number;
  count: number;
}

/** Decodes an MMV file. Throws PcpAgentError PCP_AGENT_ERR_FORMAT on malformed input. */
export function readMmv(bytes: Uint8Array): MmvFile {
  const b = new Bytes(bytes);
  const warnings: string[] = [];

  if (b.length < Size.HEADER) {
    throw formatError(
      `file is ${b.length} bytes, shorter than the ${Size.HEADER}-byte header (truncated at offset ${b.length})`,
    );
  }
  const magic = bytes.subarray(Header.MAGIC, Header.MAGIC + 4);
  if (String.fromCharCode(...magic) !== MAGIC) {
    throw formatError(
      `bad magic ${shown(String.fromCharCode(...magic))} at offset ${Header.MAGIC}, expected "MMV\\u0000"`,
    );
  }
  const version = b.i32(Header.VERSION);
  if (version !== Version.V1 && version !== Version.V2 && version !== Version.V3) {
    throw formatError(`unknown version ${version} at offset ${Header.VERSION}, expected 1, 2 or 3`);
  }
  const layout: Layout =
    version === Version.V1
      ? { instanceSize: Size.INSTANCE_V1, metricSize: Size.METRIC_V1, v1: true }
      : { instanceSize: Size.INSTANCE_V2, metricSize: Size.METRIC_V2, v1: false };

  const generation1 = b.u64(Header.GEN1);
  const generation2 = b.u64(Header.GEN2);
  const flags = b.u32(Header.FLAGS);
  const pid = b.i32(Header.PID);
  const cluster = b.i32(Header.CLUSTER);

  const tocCount = b.i32(Header.TOC_COUNT);
  const tocRoom = Math.floor((b.length - Size.HEADER) / Size.TOC);
  if (tocCount < 2) {
    throw formatError(
      `TOC count ${tocCount} at offset ${Header.TOC_COUNT} is below 2 (a file needs metrics and values sections)`,
    );
  }
  if (tocCount > tocRoom) {
    throw formatError(
      `TOC count ${tocCount} at offset ${Header.TOC_COUNT} needs ${Size.HEADER + tocCount * Size.TOC} bytes, file is ${b.length}`,
    );
  }
  const tocEnd = Size.HEADER + tocCount * Size.TOC;

  const toc: MmvTocEntry[] = [];
  const sections = new Map<number, Section>();
  for (let i = 0; i < tocCount; i++) {
    const at = Size.HEADER + i * Size.TOC;
    const type = b.i32(at + Toc.TYPE);
    const count = b.i32(at + Toc.COUNT);
    const rawOffset = b.u64(at + Toc.OFFSET);
    const section = sectionName(type);
    const entry: MmvTocEntry = {
      offset: at,
      type,
      section,
      count,
      sectionOffset: Number(rawOffset),
    };
    toc.push(entry);
    if (section === 'unknown') {
      warnings.push(`TOC[${i}] at offset ${at}: unknown section type ${type}, skipped`);
      continue;
    }
    const previous = sections.get(type);
    if (previous) {
      throw formatError(
        `TOC[${i}] at offset ${at}: duplicate ${section} section (first at TOC offset ${previous.entry.offset})`,
      );
    }
    const size = recordSize(type, layout);
    if (count < 0) {
      throw formatError(`TOC[${i}] at offset ${at}: ${section} count ${count} is negative`);
    }
    if (count > Limits.MAX_SECTION_COUNT && !UNLIMITED_SECTIONS.has(type)) {
      throw formatError(
        `TOC[${i}] at offset ${at}: ${section} count ${count} exceeds ${Limits.MAX_SECTION_COUNT} (pmdammv skips such a section)`,
      );
    }
    if (count > 0) {
      if (rawOffset < BigInt(tocEnd)) {
        throw formatError(
          `TOC[${i}] at offset ${at}: ${section} section offset ${rawOffset} overlaps the header and TOC (which end at ${tocEnd})`,
        );
      }
      const end = rawOffset + BigInt(count) * BigInt(size);
      if (end > BigInt(b.length)) {
        throw formatError(
          `TOC[${i}] at offset ${at}: ${section} section at offset ${rawOffset} with ${count} records of ${size} bytes ends at ${end}, past the end of the file (${b.length})`,
        );
      }
    }
    sections.set(type, { entry, offset: Number(rawOffset), count });
  }

  if (!sections.has(TocType.METRICS)) warnings.push('no metrics section in the TOC');
  if (!sections.has(TocType.VALUES)) warnings.push('no values section in the TOC');
  if (sections.has(TocType.LABELS) && version !== Version.V3) {
    warnings.push(`labels section in a version ${version} file (labels came with version 3)`);
  }

  const indoms = readIndoms(b, layout, sections, warnings);
  const metrics = readMetrics(b, layout, sections.get(TocType.METRICS), indoms, warnings);
  const values = readValues(b, sections.get(TocType.VALUES), metrics, indoms, warnings);
  const strings = readStrings(b, sections.get(TocType.STRINGS));
  const labels = readLabels(b, sections.get(TocType.LABELS));

  return {
    size: b.length,
    version,
    generation1,
    generation2,
    stable: generation1 !== 0n && generation1 === generation2,
    flags,
    noPrefix: (flags & Flag.NOPREFIX) !== 0,
    process: (flags & Flag.PROCESS) !== 0,
    sentinel: (flags & Flag.SENTINEL) !== 0,
    pid,
    cluster,
    toc,
    indoms,
    metrics,
    values,
    strings,
    labels,
    warnings,
  };
}

function recordSize(type: number, layout: Layout): number {
  switch (type) {
    case TocType.INDOMS:
      return Size.INDOM;
    case TocType.INSTANCES:
      return layout.instanceSize;
    case TocType.METRICS:
      return layout.metricSize;
    case TocType.VALUES:
      return Size.VALUE;
    case TocType.STRINGS:
      return Size.STRING;
    default:
      return Size.LABEL;
  }
}

function readIndoms(
  b: Bytes,
  layout: Layout,
  sections: ReadonlyMap<number, Section>,
  warnings: string[],
): MmvIndom[] {
  const section = sections.get(TocType.INDOMS);
  if (!section) return [];
  const instancesSection = sections.get(TocType.INSTANCES);
  // Indoms point at instance runs by offset, so several could share one run: cap the total
  // by what the file can hold so decoding stays proportional to the file size.
  const maxInstances = Math.floor(b.length / layout.instanceSize);
  let totalInstances = 0;
  const indoms: MmvIndom[] = [];
  const serials = new Set<number>();
  for (let i = 0; i < section.count; i++) {
    const at = section.offset + i * Size.INDOM;
    const what = `indom[${i}] at offset ${at}`;
    const serial = b.u32(at + Indom.SERIAL);
    const count = b.u32(at + Indom.COUNT);
    if (count > Limits.MAX_SECTION_COUNT) {
      throw formatError(
        `${what}: instance count ${count} exceeds ${Limits.MAX_SECTION_COUNT} (pmdammv skips such an indom)`,
      );
    }
    totalInstances += count;
    if (totalInstances > maxInstances) {
      throw formatError(
        `${what}: indoms claim ${totalInstances} instances, more than a ${b.length}-byte file can hold`,
      );
    }
    let instancesOffset = 0;
    const instances: MmvInstance[] = [];
    if (count > 0) {
      instancesOffset = b.offset(
        at + Indom.OFFSET,
        count * layout.instanceSize,
        `${what}: instances`,
      );
      if (
        instancesSection &&
        (instancesOffset < instancesSection.offset ||
          instancesOffset + count * layout.instanceSize >
            instancesSection.offset + instancesSection.count * layout.instanceSize)
      ) {
        warnings.push(`${what}: its instances lie outside the instances section`);
      }
      for (let k = 0; k < count; k++) {
        instances.push(
          readInstance(b, layout, instancesOffset + k * layout.instanceSize, at, warnings),
        );
      }
    } else {
      instancesOffset = Number(b.u64(at + Indom.OFFSET));
    }
    if (serials.has(serial)) warnings.push(`${what}: duplicate indom serial ${serial}`);
    serials.add(serial);
    indoms.push({
      serial,
      instances,
      shortHelp: b.stringRef(at + Indom.SHORT_HELP, `${what}: short help`),
      longHelp: b.stringRef(at + Indom.LONG_HELP, `${what}: long help`),
      offset: at,
      instancesOffset,
    });
  }
  return indoms;
}

function readInstance(
  b: Bytes,
  layout: Layout,
  at: number,
  indomAt: number,
  warnings: string[],
): MmvInstance {
  const what = `instance at offset ${at}`;
  const id = b.i32(at + (layout.v1 ? InstanceV1.ID : InstanceV2.ID));
  // pmdammv never follows this back-pointer (mmvdump does), so a wrong one is only odd.
  const owner = b.u64(at + (layout.v1 ? InstanceV1.INDOM : InstanceV2.INDOM));
  if (owner !== BigInt(indomAt)) {
    warnings.push(
      `${what}: its indom offset ${owner} is not the indom at offset ${indomAt} listing it`,
    );
  }
  const name = layout.v1
    ? b.cstring(at + InstanceV1.NAME, NAME_MAX_V1, `${what}: name`)
    : requiredString(b, at + InstanceV2.NAME, `${what}: name`);
  return { id, name, offset: at };
}

function requiredString(b: Bytes, at: number, what: string): string {
  const s = b.stringRef(at, what);
  if (s === null) throw formatError(`${what}: string offset (field at offset ${at}) is 0`);
  return s;
}

function readMetrics(
  b: Bytes,
  layout: Layout,
  section: Section | undefined,
  indoms: readonly MmvIndom[],
  warnings: string[],
): MmvMetric[] {
  if (!section) return [];
  const serials = new Set(indoms.map((d) => d.serial));
  const names = new Set<string>();
  const items = new Set<number>();
  const metrics: MmvMetric[] = [];
  const F = layout.v1 ? MetricV1 : MetricV2;
  for (let i = 0; i < section.count; i++) {
    const at = section.offset + i * layout.metricSize;
    const what = `metric[${i}] at offset ${at}`;
    const name = layout.v1
      ? b.cstring(at + MetricV1.NAME, NAME_MAX_V1, `${what}: name`)
      : requiredString(b, at + MetricV2.NAME, `${what}: name`);
    const type = b.i32(at + F.TYPE);
    const semantics = b.i32(at + F.SEMANTICS);
    const unitsWord = b.u32(at + F.UNITS);
    const indomField = b.i32(at + F.INDOM);
    const item = b.u32(at + F.ITEM);
    const indom = indomField === INDOM_NONE || indomField === 0 ? null : indomField >>> 0;
    if (typeName(type) === 'unknown')
      warnings.push(`${what} (${shown(name)}): unknown type ${type}`);
    if (indom !== null && !serials.has(indom)) {
      warnings.push(`${what} (${shown(name)}): indom ${indom} is not in the indoms section`);
    }
    if (names.has(name)) warnings.push(`${what}: duplicate metric name ${shown(name)}`);
    if (items.has(item)) warnings.push(`${what} (${shown(name)}): duplicate item ${item}`);
    if (item > Limits.MAX_ITEM) {
      warnings.push(
        `${what} (${shown(name)}): item ${item} exceeds ${Limits.MAX_ITEM}; pmdammv drops it`,
      );
    }
    names.add(name);
    items.add(item);
    metrics.push({
      name,
      item,
      type,
      typeName: typeName(type),
      semantics,
      semanticsName: semanticsName(semantics),
      units: decodeUnits(unitsWord),
      unitsWord,
      indom,
      indomField,
      shortHelp: b.stringRef(at + F.SHORT_HELP, `${what}: short help`),
      longHelp: b.stringRef(at + F.LONG_HELP, `${what}: long help`),
      offset: at,
    });
  }
  return metrics;
}

function readValues(
  b: Bytes,
  section: Section | undefined,
  metrics: readonly MmvMetric[],
  indoms: readonly MmvIndom[],
  warnings: string[],
): MmvValue[] {
  if (!section) return [];
  const metricsByOffset = new Map(metrics.map((m) => [m.offset, m]));
  const instancesByOffset = new Map<number, { instance: MmvInstance; serial: number }>();
  for (const d of indoms) {
    for (const instance of d.instances) {
      instancesByOffset.set(instance.offset, { instance, serial: d.serial });
    }
  }
  const values: MmvValue[] = [];
  for (let i = 0; i < section.count; i++) {
    const at = section.offset + i * Size.VALUE;
    const what = `value[${i}] at offset ${at}`;
    const metricOffset = b.u64(at + Value.METRIC);
    const metric = metricsByOffset.get(Number(metricOffset));
    if (!metric) {
      throw formatError(
        `${what}: metric offset ${metricOffset} is not the start of a metric record`,
      );
    }
    const instanceOffset = b.u64(at + Value.INSTANCE);
    let instance: MmvInstance | null = null;
    if (metric.indom !== null) {
      const found = instancesByOffset.get(Number(instanceOffset));
      if (!found) {
        throw formatError(
          `${what} (${shown(metric.name)}): instance offset ${instanceOffset} is not the start of an instance record`,
        );
      }
      if (found.serial !== metric.indom) {
        warnings.push(
          `${what} (${shown(metric.name)}): instance ${found.instance.id} belongs to indom ${found.serial}, not ${metric.indom}`,
        );
      }
      instance = found.instance;
    }
    const extra = b.i64(at + Value.EXTRA);
    values.push({
      offset: at,
      metric: metric.name,
      metricOffset: metric.offset,
      typeName: metric.typeName,
      instance: instance?.name ?? null,
      instanceId: instance?.id ?? null,
      instanceOffset: Number(instanceOffset),
      value: readValue(b, at, metric, what),
      extra,
    });
  }
  return values;
}

function readValue(
  b: Bytes,
  at: number,
  metric: MmvMetric,
  what: string,
): number | bigint | string {
  const v = at + Value.VALUE;
  switch (metric.type) {
    case TypeCode.I32:
      return b.view.getInt32(v, true);
    case TypeCode.U32:
      return b.view.getUint32(v, true);
    case TypeCode.I64:
    case TypeCode.ELAPSED:
      return b.view.getBigInt64(v, true);
    case TypeCode.FLOAT:
      return b.view.getFloat32(v, true);
    case TypeCode.DOUBLE:
      return b.view.getFloat64(v, true);
    case TypeCode.STRING:
      return requiredString(b, at + Value.EXTRA, `${what} (${shown(metric.name)}): string value`);
    default:
      // U64, and the raw 8 bytes of a type we do not know.
      return b.view.getBigUint64(v, true);
  }
}

function readStrings(b: Bytes, section: Section | undefined): MmvString[] {
  if (!section) return [];
  const strings: MmvString[] = [];
  for (let i = 0; i < section.count; i++) {
    const at = section.offset + i * Size.STRING;
    strings.push({ offset: at, text: b.cstring(at, STRING_MAX, `string[${i}]`) });
  }
  return strings;
}

function readLabels(b: Bytes, section: Section | undefined): MmvLabel[] {
  if (!section) return [];
  const labels: MmvLabel[] = [];
  for (let i = 0; i < section.count; i++) {
    const at = section.offset + i * Size.LABEL;
    const flags = b.u32(at + Label.FLAGS);
    const instance = b.i32(at + Label.INSTANCE);
    const payload = b.cstring(at + Label.PAYLOAD, LABEL_PAYLOAD_MAX, `label[${i}] payload`);
    labels.push({
      offset: at,
      flags,
      kind: labelKind(flags),
      optional: (flags & LabelFlag.OPTIONAL) !== 0,
      identity: b.u32(at + Label.IDENTITY),
      instance: instance === INSTANCE_NONE ? null : instance,
      payload,
      parsed: parseJsonObject(payload),
    });
  }
  return labels;
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Reads and decodes an MMV file; I/O failures are PCP_AGENT_ERR_IO, bad content _FORMAT. */
export function readMmvFile(path: string): MmvFile {
  let bytes: Uint8Array;
  try {
    // A device or FIFO could stream forever; only regular files of a sane size are read.
    const st = fs.statSync(path);
    if (!st.isFile()) {
      throw new PcpAgentError('PCP_AGENT_ERR_IO', `${path}: not a regular file`);
    }
    if (st.size > MAX_FILE_SIZE) {
      throw formatError(`${path}: ${st.size} bytes is too large for an MMV file`);
    }
    bytes = fs.readFileSync(path);
  } catch (err) {
    if (err instanceof PcpAgentError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new PcpAgentError('PCP_AGENT_ERR_IO', `cannot read ${path}: ${e.code ?? e.message}`, {
      cause: err,
    });
  }
  try {
    return readMmv(bytes);
  } catch (err) {
    if (!(err instanceof PcpAgentError)) throw err;
    // Same code and text, with the path in front: the message is what a CLI user sees.
    const detail = err.message.slice(err.code.length + 2);
    throw new PcpAgentError(err.code, `${path}: ${detail}`, { cause: err });
  }
}
