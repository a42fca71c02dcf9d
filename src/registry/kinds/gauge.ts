// Gauge: a double that goes up and down (queue length, temperature). PCP shows its value.

import { Units as U, type Units } from '../../mmv/units';
import { Family, type MetricOptions } from '../metric';
import type { SlotHolder } from '../store';
import { type MetricSpec, singleSpec } from './spec';

export interface GaugeOptions extends MetricOptions {
  /** A fixed item number (0-1023); by default a stable hash of the name. */
  item?: number;
  /** Default: none. */
  units?: Units;
  /** Default 'instant'; 'discrete' for values that rarely change (a configuration size). */
  semantics?: 'instant' | 'discrete';
}

export class Gauge implements SlotHolder {
  // Declared, not defined: see SlotHolder.
  declare v: Float64Array;
  declare private readonly i: number;

  /** @internal */
  constructor(i: number) {
    this.i = i;
  }

  set(value: number): void {
    this.v[this.i] = value;
  }

  inc(by = 1): void {
    this.v[this.i] += by;
  }

  dec(by = 1): void {
    this.v[this.i] -= by;
  }

  get value(): number {
    return this.v[this.i];
  }
}

export class GaugeFamily extends Family<Gauge> {
  static specs(options: GaugeOptions): MetricSpec[] {
    return singleSpec(options, {
      type: 'double',
      semantics: options.semantics ?? 'instant',
      units: options.units ?? U.none,
    });
  }

  protected createHandle(block: number): Gauge {
    return this.ctx.store.hold(new Gauge(block));
  }
}
