// The public surface of pcp-agent: everything a user imports comes from here.

export {
  Counter,
  decoratedMetrics,
  Gauge,
  Histogram,
  type MetricDecorator,
  Timer,
} from './decorators/decorators';
export type { DecoratedMetric } from './decorators/metadata';
export { METRIC_METADATA_KEY } from './decorators/metadata';
export type {
  CallDecoratorOptions,
  CounterDecoratorOptions,
  DecoratorKind,
  DecoratorOptions,
  GaugeDecoratorOptions,
  HistogramDecoratorOptions,
  TimerDecoratorOptions,
} from './decorators/options';
export type { ErrorCode } from './errors';
export { PcpAgentError } from './errors';
export { appName, sanitizeName } from './file/naming';
export type { PcpTmpDir } from './file/paths';
export { findPcpTmpDir, mmvDir } from './file/paths';
export type {
  MmvFile,
  MmvIndom,
  MmvInstance,
  MmvLabel,
  MmvMetric,
  MmvTocEntry,
  MmvValue,
} from './mmv/reader';
export { readMmv, readMmvFile } from './mmv/reader';
export type { SpaceScale, TimeScale } from './mmv/units';
export {
  checkUnits,
  decodeUnits,
  encodeUnits,
  formatUnits,
  makeUnits,
  NO_UNITS,
  Units,
} from './mmv/units';
export { defaultRegistry, existingDefaultRegistry } from './registry/default';
export type { Instance, InstanceSpec } from './registry/instance-domain';
export { InstanceDomain, OVERFLOW_INSTANCE } from './registry/instance-domain';
export type { CounterOptions } from './registry/kinds/counter';
export type { GaugeOptions } from './registry/kinds/gauge';
export type { HistogramOptions } from './registry/kinds/histogram';
export type { NumericType, RawMetric, RawOptions } from './registry/kinds/raw';
export type { StringMetric, StringOptions } from './registry/kinds/string';
export type { Stopwatch, TimerOptions } from './registry/kinds/timer';
export type { IndomOption, MetricOptions, MetricType, Semantics } from './registry/metric';
export { MetricVector } from './registry/metric';
export type { InstanceDomainOptions, RegistryOptions } from './registry/registry';
export { MAX_METRICS, MAX_VALUES, Registry } from './registry/registry';
export type { Labels, LabelValue } from './registry/validate';
