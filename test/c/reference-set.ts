// The metric set reference_writer.c writes, as data: what a test registers through our
// library to compare with PCP's own C writer, and what pminfo should show for either.

export type ReferenceType = 'i32' | 'u32' | 'i64' | 'u64' | 'float' | 'double' | 'string';
export type ReferenceSemantics = 'counter' | 'instant' | 'discrete';

/**
 * pmUnits fields. scaleSpace: 0 byte, 1 KiB, 2 MiB, 3 GiB ...; scaleTime: 0 nsec, 1 usec,
 * 2 msec, 3 sec, 4 min, 5 hour; scaleCount: a power of ten.
 */
export interface ReferenceUnits {
  dimSpace: number;
  dimTime: number;
  dimCount: number;
  scaleSpace: number;
  scaleTime: number;
  scaleCount: number;
}

/** 64-bit values beyond 2^53 are bigint, as test/support/pcp.ts parses them. */
export type ReferenceValue = number | bigint | string;

export interface ReferenceInstance {
  id: number;
  name: string;
}

export interface ReferenceInstanceDomain {
  serial: number;
  oneLine?: string;
  help?: string;
  instances: readonly ReferenceInstance[];
}

interface ReferenceMetricBase {
  /** Name inside the file; PCP shows mmv.<file>.<name>. */
  name: string;
  item: number;
  type: ReferenceType;
  semantics: ReferenceSemantics;
  units: ReferenceUnits;
  /** How pminfo prints these units (pmUnitsStr, PCP 6.0.3); '' for none. */
  unitsText: string;
  oneLine?: string;
  help?: string;
}

export interface ReferenceSingleton extends ReferenceMetricBase {
  indom: null;
  value: ReferenceValue;
}

export interface ReferenceInstanced extends ReferenceMetricBase {
  /** Serial of one of referenceSet.indoms. */
  indom: number;
  /** By instance name; every instance of the indom has one. */
  values: Readonly<Record<string, ReferenceValue>>;
}

export type ReferenceMetric = ReferenceSingleton | ReferenceInstanced;

export interface ReferenceSet {
  cluster: number;
  /** Header flags: 0, so the file outlives the writer (no PROCESS). */
  flags: number;
  indoms: readonly ReferenceInstanceDomain[];
  metrics: readonly ReferenceMetric[];
}

const u = (
  dimSpace: number,
  dimTime: number,
  dimCount: number,
  scaleSpace: number,
  scaleTime: number,
  scaleCount: number,
): ReferenceUnits => ({ dimSpace, dimTime, dimCount, scaleSpace, scaleTime, scaleCount });

const NONE = u(0, 0, 0, 0, 0, 0);
const COUNT = u(0, 0, 1, 0, 0, 0);
const USEC = u(0, 1, 0, 0, 1, 0);

export const PRODUCTS = 61;
export const QUEUES = 62;

/**
 * Keep in step with reference_writer.c; test/pcp-harness.test.ts checks the C side against
 * this with real PCP. Values are what pminfo prints back, parsed as test/support/pcp.ts does.
 */
export const referenceSet: ReferenceSet = {
  cluster: 123,
  flags: 0,
  indoms: [
    {
      serial: PRODUCTS,
      oneLine: 'Acme products',
      help: 'Most popular products of the Acme Corporation',
      instances: [
        { id: 0, name: 'Anvils' },
        { id: 1, name: 'Rockets' },
        { id: 2, name: 'Giant_Rubber_Bands' },
      ],
    },
    { serial: QUEUES, oneLine: 'Work queues', instances: [] },
  ],
  metrics: [
    {
      name: 'products.count',
      item: 7,
      type: 'u64',
      semantics: 'counter',
      units: COUNT,
      unitsText: 'count',
      indom: PRODUCTS,
      oneLine: 'Acme factory product throughput',
      help:
        'Monotonic increasing counter of products produced in the Acme Corporation\n' +
        'factory since starting the Acme production application.',
      values: { Anvils: 42, Rockets: 7, Giant_Rubber_Bands: 1000000 },
    },
    {
      name: 'products.time',
      item: 8,
      type: 'u64',
      semantics: 'counter',
      units: USEC,
      unitsText: 'microsec',
      indom: PRODUCTS,
      oneLine: 'Machine time spent producing Acme products',
      values: { Anvils: 1500, Rockets: 250000, Giant_Rubber_Bands: 0 },
    },
    {
      name: 'products.queuetime',
      item: 10,
      type: 'u64',
      semantics: 'counter',
      units: USEC,
      unitsText: 'microsec',
      indom: PRODUCTS,
      oneLine: 'Queued time while producing Acme products',
      values: { Anvils: 30, Rockets: 4096, Giant_Rubber_Bands: 12 },
    },
    {
      // An indom with no instances gives a metric with no value records at all, and
      // pmdammv then serves no help for it either (it finds help through a value).
      name: 'queues.depth',
      item: 11,
      type: 'u32',
      semantics: 'instant',
      units: COUNT,
      unitsText: 'count',
      indom: QUEUES,
      oneLine: 'Items waiting per queue',
      values: {},
    },
    {
      name: 'types.i32',
      item: 20,
      type: 'i32',
      semantics: 'instant',
      units: NONE,
      unitsText: '',
      indom: null,
      oneLine: 'Signed 32-bit instant',
      help: 'A negative value, to show the sign survives.',
      value: -42,
    },
    {
      name: 'types.u32',
      item: 21,
      type: 'u32',
      semantics: 'discrete',
      units: COUNT,
      unitsText: 'count',
      indom: null,
      oneLine: 'Unsigned 32-bit discrete',
      help: 'Above 2^31, to show it is read unsigned.',
      value: 4000000000,
    },
    {
      name: 'types.i64',
      item: 22,
      type: 'i64',
      semantics: 'instant',
      units: u(0, 1, 0, 0, 0, 0),
      unitsText: 'nanosec',
      indom: null,
      oneLine: 'Signed 64-bit instant',
      help: 'Below -2^53, so a double cannot hold it.',
      value: -9007199254740993n,
    },
    {
      name: 'types.u64',
      item: 23,
      type: 'u64',
      semantics: 'counter',
      units: u(1, 0, 0, 0, 0, 0),
      unitsText: 'byte',
      indom: null,
      oneLine: 'Unsigned 64-bit counter',
      help: 'The largest unsigned 64-bit value.',
      value: 18446744073709551615n,
    },
    {
      name: 'types.float',
      item: 24,
      type: 'float',
      semantics: 'instant',
      units: u(1, 0, 0, 1, 0, 0),
      unitsText: 'Kbyte',
      indom: null,
      oneLine: '32-bit float',
      help: 'Exactly representable, so printing is unambiguous.',
      value: 3.25,
    },
    {
      name: 'types.double',
      item: 25,
      type: 'double',
      semantics: 'instant',
      units: u(1, -1, 0, 2, 3, 0),
      unitsText: 'Mbyte / sec',
      indom: null,
      oneLine: '64-bit double',
      help: "Needs all of a double's digits.",
      value: Math.E,
    },
    {
      name: 'types.string',
      item: 26,
      type: 'string',
      semantics: 'discrete',
      units: NONE,
      unitsText: '',
      indom: null,
      oneLine: 'A string',
      help: 'Contains quotes and a comma, which pminfo prints unescaped.',
      value: 'Wile E. Coyote says "beep, beep"',
    },
    {
      name: 'units.kib_per_sec',
      item: 30,
      type: 'double',
      semantics: 'instant',
      units: u(1, -1, 0, 1, 3, 0),
      unitsText: 'Kbyte / sec',
      indom: null,
      oneLine: 'KiB per second',
      value: 0.5,
    },
    {
      name: 'units.msec',
      item: 31,
      type: 'u64',
      semantics: 'counter',
      units: u(0, 1, 0, 0, 2, 0),
      unitsText: 'millisec',
      indom: null,
      oneLine: 'Milliseconds',
      value: 1234,
    },
    {
      name: 'units.count_per_sec',
      item: 32,
      type: 'double',
      semantics: 'instant',
      units: u(0, -1, 1, 0, 3, 0),
      unitsText: 'count / sec',
      indom: null,
      oneLine: 'Events per second',
      value: 1e-7,
    },
    {
      name: 'units.kilocount',
      item: 33,
      type: 'u64',
      semantics: 'counter',
      units: u(0, 0, 1, 0, 0, 3),
      unitsText: 'count x 10^3',
      indom: null,
      oneLine: 'Thousands of events',
      value: 3,
    },
    {
      name: 'units.centicount',
      item: 34,
      type: 'i32',
      semantics: 'instant',
      units: u(0, 0, 1, 0, 0, -2),
      unitsText: 'count x 10^-2',
      indom: null,
      oneLine: 'Hundredths of an event',
      value: -250,
    },
    {
      name: 'units.per_hour',
      item: 35,
      type: 'double',
      semantics: 'instant',
      units: u(0, -1, 0, 0, 5, 0),
      unitsText: '/ hour',
      indom: null,
      oneLine: 'A rate with no count dimension',
      value: 12345678.25,
    },
    {
      name: 'units.byte_squared',
      item: 36,
      type: 'double',
      semantics: 'instant',
      units: u(2, 0, 0, 0, 0, 0),
      unitsText: 'byte^2',
      indom: null,
      oneLine: 'Dimension 2, which speed encodes wrongly',
      value: 1e21,
    },
    {
      name: 'units.gib_per_count',
      item: 37,
      type: 'double',
      semantics: 'instant',
      units: u(1, 0, -1, 3, 0, 0),
      unitsText: 'Gbyte / count',
      indom: null,
      oneLine: 'GiB per item',
      value: 0.1,
    },
    {
      name: 'units.hours',
      item: 38,
      type: 'u32',
      semantics: 'discrete',
      units: u(0, 1, 0, 0, 5, 0),
      unitsText: 'hour',
      indom: null,
      oneLine: 'Whole hours',
      value: 24,
    },
    {
      name: 'units.none',
      item: 39,
      type: 'u32',
      semantics: 'discrete',
      units: NONE,
      unitsText: '',
      indom: null,
      value: 0,
    },
  ],
};
