// One layout of the file: the encoded image plus, for every value record, which store slot
// feeds it. A flush copies changed slots into the values region; a new layout is built only
// when the set of metrics or instances changes.

import {
  type EncodedFile,
  type EncodeIndom,
  type EncodeLabel,
  encodeMmv,
  writeStringSlot,
  writeValue,
} from '../mmv/encode';
import { LabelFlag, TypeCode, type Version } from '../mmv/format';
import type { InstanceDomain } from './instance-domain';
import type { PcpMetric } from './metric';
import type { ValueStore } from './store';

export interface LayoutInput {
  version: Version;
  generation: bigint;
  flags: number;
  pid: number;
  cluster: number;
  indoms: readonly InstanceDomain[];
  metrics: readonly PcpMetric[];
  /** JSON payload of the file's own labels, or null. */
  labels: string | null;
}

/**
 * The identity of an indom or instance label: the bare indom serial. pmdammv 6.0.3 matches
 * `(cluster << 11) | identity` against the indom, so the full pmInDom would never match
 * (checked with pminfo -l).
 */
export function labelIdentity(serial: number): number {
  return serial;
}

export function collectLabels(input: LayoutInput): EncodeLabel[] {
  const labels: EncodeLabel[] = [];
  if (input.labels) {
    labels.push({
      flags: LabelFlag.CLUSTER,
      identity: input.cluster,
      instance: -1,
      payload: input.labels,
    });
  }
  for (const d of input.indoms) {
    const identity = labelIdentity(d.serial);
    if (d.labels)
      labels.push({ flags: LabelFlag.INDOM, identity, instance: -1, payload: d.labels });
    for (const inst of d.instances) {
      if (!inst.labels) continue;
      // pmdammv 6.0.3 returns the number of instance label records as the number of labels,
      // so a record with several keys shows only its first: write one record per key.
      const set = JSON.parse(inst.labels) as Record<string, unknown>;
      for (const [key, value] of Object.entries(set)) {
        labels.push({
          flags: LabelFlag.INSTANCES,
          identity,
          instance: inst.id,
          payload: JSON.stringify({ [key]: value }),
        });
      }
    }
  }
  for (const m of input.metrics) {
    if (m.labels)
      labels.push({ flags: LabelFlag.ITEM, identity: m.item, instance: -1, payload: m.labels });
  }
  return labels;
}

export class Layout {
  readonly encoded: EncodedFile;
  /** The part of the image a flush rewrites. */
  readonly region: Uint8Array;
  readonly regionOffset: number;
  private readonly view: DataView;
  private readonly slots: Int32Array;
  private readonly types: Uint8Array;
  private readonly positions: Int32Array;
  private readonly passive: Uint8Array;
  private passiveIndexes: number[] = [];
  private readonly last: Float64Array;
  private readonly stringSlots: number[] = [];
  private readonly stringPositions: number[] = [];
  private readonly stringLast: string[] = [];

  constructor(input: LayoutInput, store: ValueStore) {
    const indomIndex = new Map<InstanceDomain, number>();
    const indoms: EncodeIndom[] = input.indoms.map((d, i) => {
      indomIndex.set(d, i);
      return {
        serial: d.serial,
        shortHelp: d.shortHelp,
        longHelp: d.longHelp,
        instances: d.instances,
      };
    });
    this.encoded = encodeMmv({
      minVersion: input.version,
      generation: input.generation,
      flags: input.flags,
      pid: input.pid,
      cluster: input.cluster,
      indoms,
      metrics: input.metrics.map((m) => ({
        name: m.name,
        item: m.item,
        type: m.type,
        semantics: m.semantics,
        units: m.unitsWord,
        indom: m.indom ? m.indom.serial : null,
        shortHelp: m.shortHelp,
        longHelp: m.longHelp,
      })),
      labels: collectLabels(input),
    });
    const { bytes, values, valuesRegion } = this.encoded;
    this.regionOffset = valuesRegion.offset;
    this.region = bytes.subarray(valuesRegion.offset, valuesRegion.offset + valuesRegion.length);
    this.view = new DataView(
      bytes.buffer,
      bytes.byteOffset + valuesRegion.offset,
      valuesRegion.length,
    );

    const numeric = values.filter((v) => v.type !== TypeCode.STRING);
    this.slots = new Int32Array(numeric.length);
    this.types = new Uint8Array(numeric.length);
    this.positions = new Int32Array(numeric.length);
    this.passive = new Uint8Array(numeric.length);
    this.last = new Float64Array(numeric.length);
    let n = 0;
    for (const v of values) {
      const m = input.metrics[v.metric];
      const slot = m.slot(Math.max(0, v.instance));
      if (v.type === TypeCode.STRING) {
        this.stringSlots.push(slot);
        this.stringPositions.push(v.stringOffset - valuesRegion.offset);
        this.stringLast.push('');
        continue;
      }
      this.slots[n] = slot;
      this.types[n] = v.type;
      this.positions[n] = v.offset - valuesRegion.offset;
      this.passive[n] = m.passive ? 1 : 0;
      if (m.passive) this.passiveIndexes.push(n);
      this.last[n] = 0;
      n++;
    }
    this.refresh(store, true);
  }

  /** Copies the passive self-metrics only: what a flush records about itself after refresh(). */
  refreshPassive(store: ValueStore): void {
    // No fold(): refresh() just did it, and the passive self-metrics (the flush's timer, and
    // the publishes the registry counts itself) are recorded straight into f64.
    const f64 = store.f64;
    for (const j of this.passiveIndexes) {
      const value = f64[this.slots[j]];
      writeValue(this.view, this.positions[j], this.types[j], value);
      this.last[j] = value;
    }
  }

  /**
   * Copies slots that changed since the last refresh into the values region. Returns whether
   * anything other than a passive self-metric changed.
   */
  refresh(store: ValueStore, force = false): boolean {
    store.fold();
    const f64 = store.f64;
    const { slots, types, positions, passive, last, view } = this;
    let changed = false;
    for (let j = 0; j < slots.length; j++) {
      const value = f64[slots[j]];
      const previous = last[j];
      if (value === previous && !force) continue;
      if (!force && Number.isNaN(value) && Number.isNaN(previous)) continue;
      writeValue(view, positions[j], types[j], value);
      last[j] = value;
      if (passive[j] === 0) changed = true;
    }
    const strings = store.strings;
    for (let j = 0; j < this.stringSlots.length; j++) {
      const text = strings[this.stringSlots[j]] ?? '';
      if (text === this.stringLast[j] && !force) continue;
      writeStringSlot(this.region, this.stringPositions[j], text);
      this.stringLast[j] = text;
      changed = true;
    }
    return changed || force;
  }
}
