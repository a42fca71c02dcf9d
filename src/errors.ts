// Errors with stable codes a user can search for, and warnings logged once per code.
// Every error a user can cause names the rule it broke and the value that broke it.

import { inspect } from 'node:util';

export type ErrorCode =
  | 'PCP_AGENT_ERR_NAME'
  | 'PCP_AGENT_ERR_DUPLICATE'
  | 'PCP_AGENT_ERR_STRING_TOO_LONG'
  | 'PCP_AGENT_ERR_TOO_MANY_METRICS'
  | 'PCP_AGENT_ERR_INSTANCE'
  | 'PCP_AGENT_ERR_UNITS'
  | 'PCP_AGENT_ERR_VALUE'
  | 'PCP_AGENT_ERR_OPTION'
  | 'PCP_AGENT_ERR_LABEL'
  | 'PCP_AGENT_ERR_ID'
  | 'PCP_AGENT_ERR_STOPPED'
  | 'PCP_AGENT_ERR_FORMAT'
  | 'PCP_AGENT_ERR_IO';

export class PcpAgentError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'PcpAgentError';
    this.code = code;
  }
}

/**
 * Quotes a user value for an error message, shortening very long ones. Never throws: a value
 * String() cannot convert (an object without a prototype, a throwing toString, a revoked
 * Proxy) is shown by util.inspect, else by its type, so the error about it is still ours.
 */
export function quote(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : printed(value);
  return s.length > 120 ? `${s.slice(0, 100)}…(${s.length} chars)` : s;
}

function printed(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return inspect(value, { depth: 0, breakLength: Number.POSITIVE_INFINITY });
    } catch {
      return `(a ${typeof value} that cannot be printed)`;
    }
  }
}

const warned = new Set<string>();

/**
 * Logs a warning once per code (or per `key`, when one code covers several subjects, such as
 * one bad environment variable each) for the life of the process; returns whether it logged.
 */
export function warnOnce(code: string, message: string, key: string = code): boolean {
  if (warned.has(key)) return false;
  warned.add(key);
  try {
    process.emitWarning(message, { code, type: 'PcpAgentWarning' });
  } catch {
    // emitWarning can throw only if a listener throws; never let that reach the app.
  }
  return true;
}
