// The description of one PCP metric a kind contributes, before the registry gives it an item.

import type { Units } from '../../mmv/units';
import type { MetricOptions, MetricType, Semantics } from '../metric';
import type { Labels } from '../validate';

export interface MetricSpec {
  /** Appended to the family's name: '' for the family's own name, else '.count' and so on. */
  suffix: string;
  type: MetricType;
  semantics: Semantics;
  units: Units;
  /** Slot offset within the family's per-instance block. */
  offset: number;
  help?: string;
  longHelp?: string;
  labels?: Labels;
  /** A fixed item number; by default a stable hash of the name. */
  item?: number;
  /** Written with each flush but never the reason for one (self-metrics about flushing). */
  passive?: boolean;
}

/** The spec of a kind that is one PCP metric under the family's own name. */
export function singleSpec(
  options: MetricOptions & { item?: number },
  shape: Pick<MetricSpec, 'type' | 'semantics' | 'units'>,
): MetricSpec[] {
  return [
    {
      suffix: '',
      ...shape,
      offset: 0,
      help: options.help,
      longHelp: options.longHelp,
      labels: options.labels,
      item: options.item,
    },
  ];
}
