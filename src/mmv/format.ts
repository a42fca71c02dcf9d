// The MMV on-disk format as mmv(5) and PCP's mmv_dev.h define it: codes, record sizes
// and field offsets. Shared by the encoder and the reader so both read like the man page.

export const MAGIC = 'MMV\0';

export const Version = {
  V1: 1,
  V2: 2,
  V3: 3,
} as const;
export type Version = (typeof Version)[keyof typeof Version];

export const TocType = {
  INDOMS: 1,
  INSTANCES: 2,
  METRICS: 3,
  VALUES: 4,
  STRINGS: 5,
  LABELS: 6,
} as const;
export type TocType = (typeof TocType)[keyof typeof TocType];

/** Header flags (mmv_stats_flags_t). */
export const Flag = {
  NOPREFIX: 1,
  PROCESS: 2,
  SENTINEL: 4,
} as const;

/** Value types (mmv_metric_type_t, equal to PCP's PM_TYPE_* codes). */
export const TypeCode = {
  I32: 0,
  U32: 1,
  I64: 2,
  U64: 3,
  FLOAT: 4,
  DOUBLE: 5,
  STRING: 6,
  /** Written only by PCP's C library; pmdammv exports it as a microsecond i64 counter. */
  ELAPSED: 9,
} as const;

/** Semantics codes (mmv_metric_sem_t, equal to PM_SEM_*). */
export const SemanticsCode = {
  COUNTER: 1,
  INSTANT: 3,
  DISCRETE: 4,
} as const;

/** Label record flags (PM_LABEL_*). */
export const LabelFlag = {
  CONTEXT: 1 << 0,
  DOMAIN: 1 << 1,
  INDOM: 1 << 2,
  CLUSTER: 1 << 3,
  ITEM: 1 << 4,
  INSTANCES: 1 << 5,
  OPTIONAL: 1 << 7,
} as const;

/** Sizes in bytes. Every record is a multiple of 8. */
export const Size = {
  HEADER: 40,
  TOC: 16,
  INDOM: 32,
  INSTANCE_V1: 80,
  INSTANCE_V2: 24,
  METRIC_V1: 104,
  METRIC_V2: 48,
  VALUE: 32,
  STRING: 256,
  LABEL: 256,
} as const;

/** Name field of v1 metric and instance records: 63 bytes and a NUL. */
export const NAME_MAX_V1 = 64;
/** A string slot: 255 bytes of content and a NUL. */
export const STRING_MAX = 256;
/** A label record's JSON payload: 243 bytes of content and a NUL. */
export const LABEL_PAYLOAD_MAX = 244;

/** Offsets of header fields. */
export const Header = {
  MAGIC: 0,
  VERSION: 4,
  GEN1: 8,
  GEN2: 16,
  TOC_COUNT: 24,
  FLAGS: 28,
  PID: 32,
  CLUSTER: 36,
} as const;

export const Toc = { TYPE: 0, COUNT: 4, OFFSET: 8 } as const;

export const Indom = { SERIAL: 0, COUNT: 4, OFFSET: 8, SHORT_HELP: 16, LONG_HELP: 24 } as const;

export const InstanceV1 = { INDOM: 0, PAD: 8, ID: 12, NAME: 16 } as const;
export const InstanceV2 = { INDOM: 0, PAD: 8, ID: 12, NAME: 16 } as const;

export const MetricV1 = {
  NAME: 0,
  ITEM: 64,
  TYPE: 68,
  SEMANTICS: 72,
  UNITS: 76,
  INDOM: 80,
  PAD: 84,
  SHORT_HELP: 88,
  LONG_HELP: 96,
} as const;

export const MetricV2 = {
  NAME: 0,
  ITEM: 8,
  TYPE: 12,
  SEMANTICS: 16,
  UNITS: 20,
  INDOM: 24,
  PAD: 28,
  SHORT_HELP: 32,
  LONG_HELP: 40,
} as const;

export const Value = { VALUE: 0, EXTRA: 8, METRIC: 16, INSTANCE: 24 } as const;

export const Label = { FLAGS: 0, IDENTITY: 4, INSTANCE: 8, PAYLOAD: 12 } as const;

/** PM_INDOM_NULL as stored in a metric record's i32 indom field. */
export const INDOM_NONE = -1;
/** PM_IN_NULL as stored in a label record's i32 instance field. */
export const INSTANCE_NONE = -1;

/** Limits pmdammv enforces. */
export const Limits = {
  /** Items are 10 bits of the PMID. */
  MAX_ITEM: 1023,
  /** Clusters are 12 bits; 0 asks pmdammv to choose one. */
  MAX_CLUSTER: 4095,
  /**
   * pmdammv numbers an indom (cluster << 11) | serial in 22 bits, so a cluster of 2048 or
   * more loses its top bit: its indoms alias another file's and their labels never match
   * (checked with pminfo -d -l). Writers keep clusters below this.
   */
  MAX_SAFE_CLUSTER: 2047,
  /** pmdammv packs (cluster << 11) | serial into the 22-bit indom serial. */
  MAX_INDOM_SERIAL: 2047,
  /** pmdammv skips a section with more entries than this. */
  MAX_SECTION_COUNT: 10000,
} as const;

/** The PMDA domain pmdammv runs as (PCP's domain.h); used for indom identities in labels. */
export const MMV_DOMAIN = 70;
