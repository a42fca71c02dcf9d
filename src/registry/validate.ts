// The rules pmdammv and PCP clients apply to names, texts and labels, checked at registration
// so that a bad name is an error naming the rule and the value, not a metric that vanishes.

import { PcpAgentError, quote } from '../errors';
import { byteLength } from '../mmv/encode';
import { LABEL_PAYLOAD_MAX, STRING_MAX } from '../mmv/format';

/** The largest string PCP stores: 255 bytes of UTF-8 and a NUL. */
export const MAX_STRING_BYTES = STRING_MAX - 1;

const COMPONENT_RULE = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * A metric name as pmdammv accepts it once composed into `mmv.<file>.<name>`: letters, digits,
 * `_` and `.`; every dot-separated part starts with a letter (PCP's namespace would otherwise
 * refuse it) and none is empty.
 */
export function checkMetricName(name: string, what = 'metric name'): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_NAME',
      `${what} must be a non-empty string, got ${quote(name)}`,
    );
  }
  for (const part of name.split('.')) {
    if (!COMPONENT_RULE.test(part)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_NAME',
        `${what} ${quote(name)} breaks pmdammv's naming rule: each dot-separated part must start with a letter and contain only letters, digits and '_' (part ${quote(part)})`,
      );
    }
  }
  if (byteLength(name) > MAX_STRING_BYTES) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_NAME',
      `${what} ${quote(name)} is ${byteLength(name)} bytes; PCP stores at most ${MAX_STRING_BYTES}`,
    );
  }
}

/**
 * A file (registry) name: it becomes the metric prefix `mmv.<name>.`, so it is one or more
 * components joined by dots (`app`, or `app.worker2` for one process of several).
 */
export function checkFileName(name: string): void {
  if (typeof name !== 'string' || !name.split('.').every((c) => COMPONENT_RULE.test(c))) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_NAME',
      `registry name ${quote(name)} breaks pmdammv's naming rule: each dot-separated part must start with a letter and contain only letters, digits and '_' (it becomes the metric prefix mmv.<name>.)`,
    );
  }
  if (byteLength(name) > 200) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_NAME',
      `registry name ${quote(name)} is longer than 200 bytes`,
    );
  }
}

/** A help text or string value: at most 255 bytes of UTF-8, no NUL. */
export function checkString(value: string, what: string): void {
  if (typeof value !== 'string') {
    throw new PcpAgentError('PCP_AGENT_ERR_VALUE', `${what} must be a string, got ${quote(value)}`);
  }
  const n = byteLength(value);
  if (n > MAX_STRING_BYTES) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_STRING_TOO_LONG',
      `${what} is ${n} bytes of UTF-8; PCP strings hold at most ${MAX_STRING_BYTES}: ${quote(value)}`,
    );
  }
  if (value.includes('\0')) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_VALUE',
      `${what} must not contain a NUL character: ${quote(value)}`,
    );
  }
  // A lone surrogate has no UTF-8 form: the file would hold U+FFFD and PCP would show that,
  // not what was set (found by test/fuzz-api.test.ts). Labels escape it in JSON and are fine.
  const lone = LONE_SURROGATE.exec(value);
  if (lone !== null) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_VALUE',
      `${what} must be well-formed UTF-16: it holds a lone surrogate U+${lone[0].charCodeAt(0).toString(16).toUpperCase()} at index ${lone.index}, which UTF-8 cannot encode: ${quote(value)}`,
    );
  }
}

/** In a `u` regex a surrogate pair is one code point, so only unpaired halves match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** An instance name: non-empty, at most 255 bytes, no NUL, not starting with a space. */
export function checkInstanceName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_INSTANCE',
      `instance name must be a non-empty string, got ${quote(name)}`,
    );
  }
  checkString(name, `instance name ${quote(name)}`);
  if (/^\s/.test(name)) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_INSTANCE',
      `instance name ${quote(name)} starts with white space; PCP clients identify an instance by its first word`,
    );
  }
}

/** The first space-separated word, by which PCP clients (pmval, pmrep) identify an instance. */
export function firstWord(name: string): string {
  const i = name.search(/\s/);
  return i < 0 ? name : name.slice(0, i);
}

export type LabelValue = string | number | boolean | null;
export type Labels = Readonly<Record<string, LabelValue>>;

const LABEL_NAME_RULE = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Labels as one JSON object, checked against PCP's label rules and the 243-byte payload;
 * null for an empty set, which gets no record.
 */
export function labelPayload(labels: Labels, what: string): string | null {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_LABEL',
      `${what}: labels must be an object, got ${quote(labels)}`,
    );
  }
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME_RULE.test(k)) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_LABEL',
        `${what}: label name ${quote(k)} breaks PCP's rule: a letter first, then letters, digits and '_'`,
      );
    }
    const ok =
      v === null ||
      typeof v === 'string' ||
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isFinite(v));
    if (!ok) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_LABEL',
        `${what}: label ${quote(k)} must be a string, finite number, boolean or null, got ${quote(v)}`,
      );
    }
    if (typeof v === 'string' && v.includes('\0')) {
      throw new PcpAgentError(
        'PCP_AGENT_ERR_LABEL',
        `${what}: label ${quote(k)} must not contain NUL`,
      );
    }
  }
  if (Object.keys(labels).length === 0) return null;
  const payload = JSON.stringify(labels);
  if (byteLength(payload) > LABEL_PAYLOAD_MAX - 1) {
    throw new PcpAgentError(
      'PCP_AGENT_ERR_LABEL',
      `${what}: labels take ${byteLength(payload)} bytes as JSON; a PCP label record holds at most ${LABEL_PAYLOAD_MAX - 1}: ${quote(payload)}`,
    );
  }
  return payload;
}
