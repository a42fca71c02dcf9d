// A metric of any numeric PCP type with explicit semantics and units, for values that fit no
// other kind (an i32 state, a u32 size, a float ratio). Values are checked against the type.

import { PcpAgentError, quote } from '../../errors';
import { Units as U, type Units } from '../../mmv/units';
import type { InstanceDomain } from '../instance-domain';
import {
  Family,
  type FamilyContext,
  type MetricOptions,
  type MetricType,
  type Semantics,
} from '../metric';
import type { SlotHolder } from '../store';
import { type MetricSpec, singleSpec } from './spec';

export type NumericType = Exclude<MetricType, 'string'>;

export interface RawOptions extends MetricOptions {
  type: NumericType;
  semantics: Semantics;
  units?: Units;
  /** A fixed item number (0-1023); by default a stable hash of the name. */
  item?: number;
}

const RANGES: Readonly<Record<NumericType, [number, number, boolean]>> = {
  i32: [-2147483648, 2147483647, true],
  u32: [0, 4294967295, true],
  i64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true],
  u64: [0, Number.MAX_SAFE_INTEGER, true],
  float: [-3.4028234663852886e38, 3.4028234663852886e38, false],
  double: [-Number.MAX_VALUE, Number.MAX_VALUE, false],
};

export class RawMetric implements SlotHolder {
  // Declared, not defined: see SlotHolder.
  declare v: Float64Array;
  declare private readonly i: number;
  declare private readonly type: NumericType;
  declare private readonly name: string;

  /** @internal */
  constructor(i: number, type: NumericType, name: string) {
    this.i = i;
    this.type = type;
    this.name = name;
  }

  /** Sets the value; one the type cannot hold exactly is an error and the old value stays. */
  set(value: number): void {
    const [min, max, integral] = RANGES[this.type];
    const ok =
      typeof value === 'number' &&
      ((!integral && Number.isNaN(value)) ||
        (value >= min && value <= max && (!integral || Number.isInteger(value))));
    if (!ok) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_VALUE',
        `metric ${quote(this.name)} of type ${this.type} holds ${integral ? 'integers' : 'numbers'} from ${min} to ${max}, got ${quote(value)}`,
      );
    }
    // A float is what the file holds and PCP shows: value reads the same, and add() sums in it.
    this.v[this.i] = this.type === 'float' ? Math.fround(value) : value;
  }

  add(delta: number): void {
    this.set(this.v[this.i] + delta);
  }

  get value(): number {
    return this.v[this.i];
  }
}

export class RawFamily extends Family<RawMetric> {
  /** @internal */
  constructor(
    ctx: FamilyContext,
    name: string,
    indom: InstanceDomain | null,
    private readonly type: NumericType,
  ) {
    super(ctx, name, indom, 1);
  }

  static specs(options: RawOptions): MetricSpec[] {
    return singleSpec(options, {
      type: options.type,
      semantics: options.semantics,
      units: options.units ?? U.none,
    });
  }

  protected createHandle(block: number): RawMetric {
    return this.ctx.store.hold(new RawMetric(block, this.type, this.name));
  }
}
