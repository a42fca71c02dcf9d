// Turns a description of metrics, instance domains and labels into the bytes of an MMV file.
// Pure: no file system, no clock. The records are written in one pass, in the order of mmv(5).

import {
  Flag,
  Header,
  INDOM_NONE,
  Indom,
  InstanceV1,
  InstanceV2,
  LABEL_PAYLOAD_MAX,
  Label,
  MAGIC,
  MetricV1,
  MetricV2,
  NAME_MAX_V1,
  Size,
  STRING_MAX,
  Toc as TocField,
  TocType,
  TypeCode,
  Value,
  Version,
} from './format';

export interface EncodeInstance {
  id: number;
  name: string;
}

export interface EncodeIndom {
  serial: number;
  instances: readonly EncodeInstance[];
  shortHelp?: string;
  longHelp?: string;
}

export interface EncodeMetric {
  name: string;
  item: number;
  /** A TypeCode. */
  type: number;
  /** A SemanticsCode. */
  semantics: number;
  /** The packed pmUnits word (see encodeUnits). */
  units: number;
  /** Serial of the metric's instance domain, or null for a singleton. */
  indom: number | null;
  shortHelp?: string;
  longHelp?: string;
}

export interface EncodeLabel {
  /** A LabelFlag. */
  flags: number;
  identity: number;
  /** Instance id, or -1 for none. */
  instance: number;
  /** A JSON object, at most 243 bytes. */
  payload: string;
}

export interface EncodeInput {
  /** The lowest version to write; raised to 2 for long names and to 3 for labels. */
  minVersion?: Version;
  generation: bigint;
  flags: number;
  pid: number;
  cluster: number;
  indoms: readonly EncodeIndom[];
  metrics: readonly EncodeMetric[];
  labels?: readonly EncodeLabel[];
  /** Write gen2 equal to gen1 (a complete file); false leaves gen2 = 0 for the writer to set. */
  complete?: boolean;
}

/** Where one value record (one metric, one instance) sits in the encoded file. */
export interface EncodedValue {
  metric: number;
  /** Index of the instance within the metric's indom, or -1 for a singleton. */
  instance: number;
  type: number;
  /** Byte offset of the value record. */
  offset: number;
  /** For string values, the byte offset of the string slot holding the text; else 0. */
  stringOffset: number;
}

export interface EncodedFile {
  bytes: Uint8Array;
  version: Version;
  values: EncodedValue[];
  /**
   * The region a flush rewrites: the values section followed by the string-value slots.
   * Everything else in the file is fixed until the next layout.
   */
  valuesRegion: { offset: number; length: number };
}

const utf8 = new TextEncoder();

/** Bytes of a string in UTF-8. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The version a set of names and labels needs: 2 for a name of 64 bytes or more, 3 for labels. */
export function requiredVersion(input: EncodeInput): Version {
  let version: Version = input.minVersion ?? Version.V1;
  if (input.labels && input.labels.length > 0) return Version.V3;
  if (version === Version.V1) {
    const long = (s: string) => byteLength(s) >= NAME_MAX_V1;
    if (
      input.metrics.some((m) => long(m.name)) ||
      input.indoms.some((d) => d.instances.some((i) => long(i.name)))
    ) {
      version = Version.V2;
    }
  }
  return version;
}

/** Writes a value of the given type into the 8-byte value field at `offset`. */
export function writeValue(view: DataView, offset: number, type: number, v: number): void {
  switch (type) {
    case TypeCode.I32:
      view.setInt32(offset, v, true);
      break;
    case TypeCode.U32:
      view.setUint32(offset, v, true);
      break;
    case TypeCode.I64:
    case TypeCode.U64: {
      // Split without BigInt: floor division gives the two's-complement high word for
      // negative values too; exact for integers up to 2^53.
      const hi = Math.floor(v / 4294967296);
      view.setUint32(offset, v - hi * 4294967296, true);
      view.setUint32(offset + 4, hi >>> 0, true);
      break;
    }
    case TypeCode.FLOAT:
      view.setFloat32(offset, v, true);
      break;
    case TypeCode.DOUBLE:
      view.setFloat64(offset, v, true);
      break;
    default:
      break;
  }
}

/** Writes text into a zeroed 256-byte string slot at `offset`, NUL-terminated. */
export function writeStringSlot(bytes: Uint8Array, offset: number, text: string): void {
  bytes.fill(0, offset, offset + STRING_MAX);
  const { written } = utf8.encodeInto(text, bytes.subarray(offset, offset + STRING_MAX - 1));
  bytes[offset + written] = 0;
}

/** Encodes a complete MMV file. Names, help texts and labels must already be validated. */
export function encodeMmv(input: EncodeInput): EncodedFile {
  const version = requiredVersion(input);
  const v1 = version === Version.V1;
  const labels = version === Version.V3 ? (input.labels ?? []) : [];
  const instanceSize = v1 ? Size.INSTANCE_V1 : Size.INSTANCE_V2;
  const metricSize = v1 ? Size.METRIC_V1 : Size.METRIC_V2;

  const indomBySerial = new Map<number, number>();
  input.indoms.forEach((d, i) => {
    indomBySerial.set(d.serial, i);
  });
  const instanceCount = input.indoms.reduce((n, d) => n + d.instances.length, 0);

  // One value per singleton metric, one per instance for a metric over an indom.
  const values: EncodedValue[] = [];
  input.metrics.forEach((m, mi) => {
    if (m.indom === null) {
      values.push({ metric: mi, instance: -1, type: m.type, offset: 0, stringOffset: 0 });
      return;
    }
    const d = indomBySerial.get(m.indom);
    if (d === undefined) throw new Error(`metric ${m.name}: indom ${m.indom} is not in the file`);
    input.indoms[d].instances.forEach((_, ii) => {
      values.push({ metric: mi, instance: ii, type: m.type, offset: 0, stringOffset: 0 });
    });
  });
  const stringValueCount = values.filter((v) => v.type === TypeCode.STRING).length;

  // Strings: value slots first, so that they and the values form one contiguous region;
  // then names (v2 and v3) and help texts, each distinct text stored once.
  const texts: string[] = [];
  const textIndex = new Map<string, number>();
  const intern = (s: string | undefined): number => {
    if (!s) return -1;
    let i = textIndex.get(s);
    if (i === undefined) {
      i = texts.length;
      texts.push(s);
      textIndex.set(s, i);
    }
    return i;
  };
  const indomText = input.indoms.map((d) => ({
    short: intern(d.shortHelp),
    long: intern(d.longHelp),
    names: v1 ? [] : d.instances.map((i) => intern(i.name)),
  }));
  const metricText = input.metrics.map((m) => ({
    name: v1 ? -1 : intern(m.name),
    short: intern(m.shortHelp),
    long: intern(m.longHelp),
  }));
  const stringCount = stringValueCount + texts.length;

  // Sections, in the order PCP's C library writes them.
  const toc: { type: number; count: number; offset: number }[] = [];
  const hasIndoms = input.indoms.length > 0;
  let tocCount = 2 + (hasIndoms ? 2 : 0) + (stringCount > 0 ? 1 : 0) + (labels.length ? 1 : 0);
  let at = Size.HEADER + tocCount * Size.TOC;
  const place = (type: number, count: number, size: number): number => {
    const offset = at;
    toc.push({ type, count, offset });
    at += count * size;
    return offset;
  };
  const indomsOffset = hasIndoms ? place(TocType.INDOMS, input.indoms.length, Size.INDOM) : 0;
  const instancesOffset = hasIndoms ? place(TocType.INSTANCES, instanceCount, instanceSize) : 0;
  const metricsOffset = place(TocType.METRICS, input.metrics.length, metricSize);
  const valuesOffset = place(TocType.VALUES, values.length, Size.VALUE);
  const stringsOffset = stringCount > 0 ? place(TocType.STRINGS, stringCount, Size.STRING) : 0;
  const labelsOffset = labels.length ? place(TocType.LABELS, labels.length, Size.LABEL) : 0;
  tocCount = toc.length;
  const size = at;

  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const textOffset = (i: number): number =>
    i < 0 ? 0 : stringsOffset + (stringValueCount + i) * Size.STRING;

  // Header; gen2 stays 0 unless the caller wants a complete image.
  utf8.encodeInto(MAGIC, bytes.subarray(Header.MAGIC, Header.MAGIC + 4));
  view.setInt32(Header.VERSION, version, true);
  view.setBigUint64(Header.GEN1, input.generation, true);
  view.setBigUint64(Header.GEN2, input.complete ? input.generation : 0n, true);
  view.setInt32(Header.TOC_COUNT, tocCount, true);
  view.setUint32(Header.FLAGS, input.flags, true);
  view.setInt32(Header.PID, input.flags & Flag.PROCESS ? input.pid : 0, true);
  view.setInt32(Header.CLUSTER, input.cluster, true);

  toc.forEach((t, i) => {
    const o = Size.HEADER + i * Size.TOC;
    view.setInt32(o + TocField.TYPE, t.type, true);
    view.setInt32(o + TocField.COUNT, t.count, true);
    view.setBigUint64(o + TocField.OFFSET, BigInt(t.offset), true);
  });

  // Indoms and their instances.
  const instanceOffsets: number[][] = [];
  let instanceAt = instancesOffset;
  input.indoms.forEach((d, di) => {
    const o = indomsOffset + di * Size.INDOM;
    view.setUint32(o + Indom.SERIAL, d.serial, true);
    view.setUint32(o + Indom.COUNT, d.instances.length, true);
    view.setBigUint64(o + Indom.OFFSET, BigInt(d.instances.length ? instanceAt : 0), true);
    view.setBigUint64(o + Indom.SHORT_HELP, BigInt(textOffset(indomText[di].short)), true);
    view.setBigUint64(o + Indom.LONG_HELP, BigInt(textOffset(indomText[di].long)), true);
    const offsets: number[] = [];
    d.instances.forEach((inst, ii) => {
      offsets.push(instanceAt);
      view.setBigUint64(instanceAt + InstanceV1.INDOM, BigInt(o), true);
      view.setInt32(instanceAt + InstanceV1.ID, inst.id, true);
      if (v1) {
        utf8.encodeInto(inst.name, bytes.subarray(instanceAt + InstanceV1.NAME, instanceAt + 79));
      } else {
        const nameAt = textOffset(indomText[di].names[ii]);
        view.setBigUint64(instanceAt + InstanceV2.NAME, BigInt(nameAt), true);
      }
      instanceAt += instanceSize;
    });
    instanceOffsets.push(offsets);
  });

  // Metrics.
  input.metrics.forEach((m, mi) => {
    const o = metricsOffset + mi * metricSize;
    const f = v1 ? MetricV1 : MetricV2;
    if (v1) {
      utf8.encodeInto(m.name, bytes.subarray(o + MetricV1.NAME, o + NAME_MAX_V1 - 1));
    } else {
      view.setBigUint64(o + MetricV2.NAME, BigInt(textOffset(metricText[mi].name)), true);
    }
    view.setUint32(o + f.ITEM, m.item, true);
    view.setInt32(o + f.TYPE, m.type, true);
    view.setInt32(o + f.SEMANTICS, m.semantics, true);
    view.setUint32(o + f.UNITS, m.units, true);
    view.setInt32(o + f.INDOM, m.indom === null ? INDOM_NONE : m.indom, true);
    view.setBigUint64(o + f.SHORT_HELP, BigInt(textOffset(metricText[mi].short)), true);
    view.setBigUint64(o + f.LONG_HELP, BigInt(textOffset(metricText[mi].long)), true);
  });

  // Values: each points at its metric and instance; a string value at its own slot.
  let stringSlot = stringsOffset;
  values.forEach((v, vi) => {
    const o = valuesOffset + vi * Size.VALUE;
    v.offset = o;
    const m = input.metrics[v.metric];
    view.setBigUint64(o + Value.METRIC, BigInt(metricsOffset + v.metric * metricSize), true);
    if (v.instance >= 0) {
      const d = indomBySerial.get(m.indom as number) as number;
      view.setBigUint64(o + Value.INSTANCE, BigInt(instanceOffsets[d][v.instance]), true);
    }
    if (v.type === TypeCode.STRING) {
      v.stringOffset = stringSlot;
      view.setBigInt64(o + Value.EXTRA, BigInt(stringSlot), true);
      stringSlot += Size.STRING;
    }
  });

  // Texts after the value slots.
  texts.forEach((t, i) => {
    writeStringSlot(bytes, stringsOffset + (stringValueCount + i) * Size.STRING, t);
  });

  labels.forEach((l, li) => {
    const o = labelsOffset + li * Size.LABEL;
    view.setUint32(o + Label.FLAGS, l.flags, true);
    view.setUint32(o + Label.IDENTITY, l.identity >>> 0, true);
    view.setInt32(o + Label.INSTANCE, l.instance, true);
    utf8.encodeInto(
      l.payload,
      bytes.subarray(o + Label.PAYLOAD, o + Label.PAYLOAD + LABEL_PAYLOAD_MAX - 1),
    );
  });

  const regionEnd =
    stringValueCount > 0
      ? stringsOffset + stringValueCount * Size.STRING
      : valuesOffset + values.length * Size.VALUE;
  return {
    bytes,
    version,
    values,
    valuesRegion: { offset: valuesOffset, length: regionEnd - valuesOffset },
  };
}
