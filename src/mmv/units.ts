// PCP units (pmUnits): dimensions of space, time and count with their scales, and the
// 32-bit word they pack into. Each field is encoded on its own (speed ORs constants and so
// writes dimension 2 as 3).

import { PcpAgentError } from '../errors';

export type SpaceScale = 'byte' | 'KiB' | 'MiB' | 'GiB' | 'TiB' | 'PiB' | 'EiB';
export type TimeScale = 'nsec' | 'usec' | 'msec' | 'sec' | 'min' | 'hour';

const SPACE_SCALES: readonly SpaceScale[] = ['byte', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
const TIME_SCALES: readonly TimeScale[] = ['nsec', 'usec', 'msec', 'sec', 'min', 'hour'];

/** A PCP unit: a dimension (a signed power) and a scale for each of space, time and count. */
export interface Units {
  readonly dimSpace: number;
  readonly dimTime: number;
  readonly dimCount: number;
  /** 0 byte, 1 KiB, 2 MiB, 3 GiB, 4 TiB, 5 PiB, 6 EiB. */
  readonly scaleSpace: number;
  /** 0 nsec, 1 usec, 2 msec, 3 sec, 4 min, 5 hour. */
  readonly scaleTime: number;
  /** A power of ten: count x 10^scaleCount. */
  readonly scaleCount: number;
}

export const NO_UNITS: Units = Object.freeze({
  dimSpace: 0,
  dimTime: 0,
  dimCount: 0,
  scaleSpace: 0,
  scaleTime: 0,
  scaleCount: 0,
});

/** Builds a Units value, checking every field against what the 4-bit fields can hold. */
export function makeUnits(fields: Partial<Units>): Units {
  const u: Units = { ...NO_UNITS, ...fields };
  checkUnits(u);
  return Object.freeze(u);
}

/** Units for the common cases, composed with `per`. */
export const Units = {
  none: NO_UNITS,
  /** A count of things (events, requests). */
  count: (scaleCount = 0): Units => makeUnits({ dimCount: 1, scaleCount }),
  /** Bytes, or a larger binary scale. */
  space: (scale: SpaceScale = 'byte'): Units =>
    makeUnits({ dimSpace: 1, scaleSpace: scaleIndex(SPACE_SCALES, scale, 'space') }),
  bytes: (): Units => Units.space('byte'),
  /** Time in one scale: nsec, usec, msec, sec, min, hour. */
  time: (scale: TimeScale): Units =>
    makeUnits({ dimTime: 1, scaleTime: scaleIndex(TIME_SCALES, scale, 'time') }),
  /** A rate: `per(Units.space('MiB'), 'sec')` is MiB per second. */
  per: (base: Units, time: TimeScale): Units => {
    if (base.dimTime !== 0) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_UNITS',
        `units: per() needs a base without a time dimension, got dimTime=${base.dimTime}`,
      );
    }
    return makeUnits({ ...base, dimTime: -1, scaleTime: scaleIndex(TIME_SCALES, time, 'time') });
  },
} as const;

function scaleIndex<T extends string>(scales: readonly T[], scale: T, what: string): number {
  const i = scales.indexOf(scale);
  if (i < 0) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_UNITS',
      `units: ${what} scale must be one of ${scales.join(', ')}, got ${JSON.stringify(scale)}`,
    );
  }
  return i;
}

function checkField(name: keyof Units, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_UNITS',
      `units: ${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
}

/** Throws a PcpAgentError naming the field and value when units are out of range. */
export function checkUnits(u: Units): void {
  checkField('dimSpace', u.dimSpace, -8, 7);
  checkField('dimTime', u.dimTime, -8, 7);
  checkField('dimCount', u.dimCount, -8, 7);
  checkField('scaleSpace', u.scaleSpace, 0, SPACE_SCALES.length - 1);
  checkField('scaleTime', u.scaleTime, 0, TIME_SCALES.length - 1);
  checkField('scaleCount', u.scaleCount, -8, 7);
  // A scale without its dimension means nothing to PCP and would be shown as a bogus unit.
  if (u.dimSpace === 0 && u.scaleSpace !== 0) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_UNITS',
      `units: scaleSpace must be 0 when dimSpace is 0, got ${u.scaleSpace}`,
    );
  }
  if (u.dimTime === 0 && u.scaleTime !== 0) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_UNITS',
      `units: scaleTime must be 0 when dimTime is 0, got ${u.scaleTime}`,
    );
  }
  if (u.dimCount === 0 && u.scaleCount !== 0) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_UNITS',
      `units: scaleCount must be 0 when dimCount is 0, got ${u.scaleCount}`,
    );
  }
}

const nibble = (v: number): number => v & 0xf;
const signed4 = (v: number): number => (v & 0x8 ? v - 16 : v);

/** Packs units into the pmUnits word: bits 28-31 dimSpace ... 8-11 scaleCount, 0-7 pad. */
export function encodeUnits(u: Units): number {
  return (
    ((nibble(u.dimSpace) << 28) |
      (nibble(u.dimTime) << 24) |
      (nibble(u.dimCount) << 20) |
      (nibble(u.scaleSpace) << 16) |
      (nibble(u.scaleTime) << 12) |
      (nibble(u.scaleCount) << 8)) >>>
    0
  );
}

/** Unpacks a pmUnits word. Dimensions and the count scale are signed 4-bit fields. */
export function decodeUnits(word: number): Units {
  return {
    dimSpace: signed4((word >>> 28) & 0xf),
    dimTime: signed4((word >>> 24) & 0xf),
    dimCount: signed4((word >>> 20) & 0xf),
    scaleSpace: (word >>> 16) & 0xf,
    scaleTime: (word >>> 12) & 0xf,
    scaleCount: signed4((word >>> 8) & 0xf),
  };
}

/**
 * Formats units as pminfo prints them (libpcp's pmUnitsStr), e.g. "Mbyte / sec", "count",
 * "count x 10" (scale 1), "/ sec" (nothing above the line); "" for none, where pminfo says
 * "none".
 */
export function formatUnits(u: Units): string {
  const num: string[] = [];
  const den: string[] = [];
  const part = (dim: number, label: string): void => {
    if (dim === 0) return;
    const s = Math.abs(dim) === 1 ? label : `${label}^${Math.abs(dim)}`;
    (dim > 0 ? num : den).push(s);
  };
  const spaceLabels = ['byte', 'Kbyte', 'Mbyte', 'Gbyte', 'Tbyte', 'Pbyte', 'Ebyte'];
  const timeLabels = ['nanosec', 'microsec', 'millisec', 'sec', 'min', 'hour'];
  const c = u.scaleCount;
  part(u.dimSpace, spaceLabels[u.scaleSpace] ?? `space(${u.scaleSpace})`);
  part(u.dimTime, timeLabels[u.scaleTime] ?? `time(${u.scaleTime})`);
  part(u.dimCount, c === 0 ? 'count' : c === 1 ? 'count x 10' : `count x 10^${c}`);
  if (den.length === 0) return num.join(' ');
  return num.length === 0 ? `/ ${den.join(' ')}` : `${num.join(' ')} / ${den.join(' ')}`;
}
