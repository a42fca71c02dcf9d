// String metric: text of at most 255 bytes (a version, a mode). Checked on every set.

import { Units as U } from '../../mmv/units';
import type { InstanceDomain } from '../instance-domain';
import { Family, type FamilyContext, type MetricOptions } from '../metric';
import { checkString } from '../validate';
import { type MetricSpec, singleSpec } from './spec';

export interface StringOptions extends MetricOptions {
  /** A fixed item number (0-1023); by default a stable hash of the name. */
  item?: number;
  /** The initial value, of every instance, those added later included; default ''. */
  value?: string;
  /** Default 'discrete'. */
  semantics?: 'instant' | 'discrete';
}

export class StringMetric {
  /** @internal */
  constructor(
    private readonly strings: string[],
    private readonly i: number,
    private readonly name: string,
  ) {}

  /** Sets the text; more than 255 bytes of UTF-8 is an error and the old value stays. */
  set(value: string): void {
    checkString(value, `value of string metric "${this.name}"`);
    this.strings[this.i] = value;
  }

  get value(): string {
    return this.strings[this.i] ?? '';
  }
}

export class StringFamily extends Family<StringMetric> {
  /** @internal */
  constructor(
    ctx: FamilyContext,
    name: string,
    indom: InstanceDomain | null,
    /** What each instance reads until it is set. */
    private readonly initial: string,
  ) {
    super(ctx, name, indom, 1);
  }

  static specs(options: StringOptions): MetricSpec[] {
    return singleSpec(options, {
      type: 'string',
      semantics: options.semantics ?? 'discrete',
      units: U.none,
    });
  }

  protected override initBlock(block: number): void {
    this.ctx.store.strings[block] = this.initial;
  }

  protected createHandle(block: number): StringMetric {
    return new StringMetric(this.ctx.store.strings, block, this.name);
  }
}
