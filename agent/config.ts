// The agent's configuration: one table of PCP_AGENT_* variables (name, type, default,
// meaning) drives both the parser and the README's table. Precedence: defaults, then the
// JSON file named by PCP_AGENT_CONFIG, then the environment. A bad value warns once and the
// default stays: configuration never stops the app.

import * as fs from 'node:fs';
import { warnOnce } from '../src/errors';
import { DEFAULT_CONFIG } from './defaults';
import type { AgentConfig } from './types';

type Kind = 'boolean' | 'name' | 'path' | 'milliseconds' | 'count' | 'milliseconds list';

export interface Setting {
  /** The environment variable. */
  readonly env: string;
  /** The key in AgentConfig, and in the JSON config file. */
  readonly key: keyof AgentConfig | 'config';
  readonly kind: Kind;
  /** The default as the README shows it. */
  readonly shown: string;
  readonly meaning: string;
  /** For numbers: the smallest accepted. */
  readonly min?: number;
}

export const SETTINGS: readonly Setting[] = [
  {
    env: 'PCP_AGENT_ENABLED',
    key: 'enabled',
    kind: 'boolean',
    shown: 'true',
    meaning: 'Start the agent at all. `false` leaves the app untouched.',
  },
  {
    env: 'PCP_AGENT_NAME',
    key: 'name',
    kind: 'name',
    shown: 'package.json `name`, else the script name',
    meaning:
      'The app name: metrics are `mmv.<name>.*`. Made valid for PCP (`my-app` → `my_app`); each extra process of the app adds a suffix (`.worker2`, `.pid1234`).',
  },
  {
    env: 'PCP_AGENT_DIR',
    key: 'dir',
    kind: 'path',
    shown: '`$PCP_TMP_DIR/mmv`',
    meaning: 'Directory of the MMV file (pmdammv reads `$PCP_TMP_DIR/mmv`).',
  },
  {
    env: 'PCP_AGENT_FLUSH_INTERVAL',
    key: 'flushInterval',
    kind: 'milliseconds',
    min: 100,
    shown: String(DEFAULT_CONFIG.flushInterval),
    meaning: 'Milliseconds between flushes to the file; runtime metrics are sampled at each.',
  },
  {
    env: 'PCP_AGENT_HTTP',
    key: 'http',
    kind: 'boolean',
    shown: String(DEFAULT_CONFIG.http),
    meaning: 'HTTP(S) server metrics per method, route and status.',
  },
  {
    env: 'PCP_AGENT_HTTP_CLIENT',
    key: 'httpClient',
    kind: 'boolean',
    shown: String(DEFAULT_CONFIG.httpClient),
    meaning:
      'HTTP(S) client metrics (`http.request`, `https.request`, `fetch`) per method, host and status class.',
  },
  {
    env: 'PCP_AGENT_TIMERS',
    key: 'timers',
    kind: 'boolean',
    shown: String(DEFAULT_CONFIG.timers),
    meaning: 'Timer metrics: created, fired, cleared, active, time inside callbacks.',
  },
  {
    env: 'PCP_AGENT_RUNTIME',
    key: 'runtime',
    kind: 'boolean',
    shown: String(DEFAULT_CONFIG.runtime),
    meaning:
      'Runtime metrics: event loop, memory, CPU, resources, file descriptors (and GC, below).',
  },
  {
    env: 'PCP_AGENT_GC',
    key: 'gc',
    kind: 'boolean',
    shown: String(DEFAULT_CONFIG.gc),
    meaning:
      'Garbage collections and their pauses by kind (`runtime.gc.*`), with the runtime metrics. Off by default: Node builds four deprecated accessors for every collection it reports, which cost a hello-world server 2–5% more CPU per request here (see [HTTP overhead](#http-overhead)).',
  },
  {
    env: 'PCP_AGENT_CONTEXT',
    key: 'context',
    kind: 'boolean',
    shown: String(DEFAULT_CONFIG.context),
    meaning:
      "Request context (AsyncLocalStorage): time in timers and decorated methods is added to the request's route. Off by default: see its cost below.",
  },
  {
    env: 'PCP_AGENT_MAX_ROUTES',
    key: 'maxRoutes',
    kind: 'count',
    min: 1,
    shown: String(DEFAULT_CONFIG.maxRoutes),
    meaning: 'Most distinct server routes; the rest are counted in the `_overflow` instance.',
  },
  {
    env: 'PCP_AGENT_MAX_HOSTS',
    key: 'maxHosts',
    kind: 'count',
    min: 1,
    shown: String(DEFAULT_CONFIG.maxHosts),
    meaning: 'Most distinct client hosts; the rest are counted in the `_overflow` instance.',
  },
  {
    env: 'PCP_AGENT_DURATION_BUCKETS',
    key: 'durationBuckets',
    kind: 'milliseconds list',
    shown: DEFAULT_CONFIG.durationBuckets.join(','),
    meaning: 'Upper bounds (ms, ascending, comma-separated) of the HTTP duration buckets.',
  },
  {
    env: 'PCP_AGENT_WINDOW',
    key: 'window',
    kind: 'milliseconds',
    min: 0,
    shown: String(DEFAULT_CONFIG.window),
    meaning:
      'Milliseconds each percentile (and min/max) window lasts; PCP sees the last complete window.',
  },
  {
    env: 'PCP_AGENT_EVENT_LOOP_RESOLUTION',
    key: 'eventLoopResolution',
    kind: 'milliseconds',
    min: 1,
    shown: String(DEFAULT_CONFIG.eventLoopResolution),
    meaning:
      'Milliseconds between the ticks that measure event-loop delay (prom-client: `eventLoopMonitoringPrecision`). Finer costs more; a block shorter than this may be missed.',
  },
  {
    env: 'PCP_AGENT_CONFIG',
    key: 'config',
    kind: 'path',
    shown: 'none',
    meaning:
      'A JSON file of settings keyed by the names in this table (`{"maxRoutes": 200, "timers": false}`); the environment overrides it.',
  },
];

export interface ConfigProblem {
  readonly code: 'PCP_AGENT_WARN_CONFIG';
  /** The variable or file key at fault. */
  readonly subject: string;
  readonly message: string;
}

type Parsed = { ok: true; value: unknown } | { ok: false; rule: string };

const BOOLEANS: Record<string, boolean> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

function parseValue(s: Setting, raw: unknown): Parsed {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (s.kind) {
    case 'boolean': {
      if (typeof text === 'boolean') return { ok: true, value: text };
      const b = typeof text === 'string' ? BOOLEANS[text.toLowerCase()] : undefined;
      return b === undefined
        ? { ok: false, rule: 'must be true or false (also 1/0, yes/no, on/off)' }
        : { ok: true, value: b };
    }
    case 'name':
      return typeof text === 'string' && text !== ''
        ? { ok: true, value: text }
        : { ok: false, rule: 'must be a non-empty name' };
    case 'path':
      return typeof text === 'string' && text !== ''
        ? { ok: true, value: text }
        : { ok: false, rule: 'must be a non-empty path' };
    case 'milliseconds':
    case 'count': {
      const n = typeof text === 'number' ? text : typeof text === 'string' ? Number(text) : NaN;
      const min = s.min ?? 0;
      return typeof text !== 'boolean' && text !== '' && Number.isInteger(n) && n >= min
        ? { ok: true, value: n }
        : { ok: false, rule: `must be a whole number >= ${min}` };
    }
    case 'milliseconds list': {
      const parts = Array.isArray(text)
        ? text
        : typeof text === 'string'
          ? text.split(',').map((p) => p.trim())
          : [];
      const nums = parts.map((p) => (typeof p === 'number' ? p : p === '' ? NaN : Number(p)));
      const ok =
        nums.length > 0 &&
        nums.every((n, i) => Number.isFinite(n) && n > 0 && (i === 0 || n > nums[i - 1]));
      return ok
        ? { ok: true, value: nums }
        : {
            ok: false,
            rule: 'must be positive numbers of milliseconds, ascending, comma-separated',
          };
    }
  }
}

function show(raw: unknown): string {
  const s = JSON.stringify(raw) ?? String(raw);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Reads the configuration. Never throws: each bad value or unreadable file becomes a problem
 * (and the default stays); `load` reports them as warnings.
 */
export function parseConfig(
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (p) => fs.readFileSync(p, 'utf8'),
): { config: AgentConfig; problems: ConfigProblem[] } {
  const config: AgentConfig = {
    ...DEFAULT_CONFIG,
    durationBuckets: [...DEFAULT_CONFIG.durationBuckets],
  };
  const problems: ConfigProblem[] = [];
  const problem = (subject: string, message: string) =>
    problems.push({ code: 'PCP_AGENT_WARN_CONFIG', subject, message });
  const apply = (s: Setting, raw: unknown, where: string) => {
    const p = parseValue(s, raw);
    if (p.ok) (config as unknown as Record<string, unknown>)[s.key] = p.value;
    else
      problem(
        where,
        `pcp-agent: ${where} ${p.rule}, got ${show(raw)}; using the default (${s.shown})`,
      );
  };

  const file = env.PCP_AGENT_CONFIG;
  if (file !== undefined && file.trim() !== '') {
    let json: unknown;
    try {
      json = JSON.parse(readFile(file));
    } catch (err) {
      problem(
        'PCP_AGENT_CONFIG',
        `pcp-agent: PCP_AGENT_CONFIG ${show(file)} must name a readable JSON file (${err instanceof Error ? err.message : String(err)}); using the environment and defaults`,
      );
    }
    if (json !== undefined) {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) {
        problem('PCP_AGENT_CONFIG', `pcp-agent: ${show(file)} must hold a JSON object of settings`);
      } else {
        for (const [key, raw] of Object.entries(json)) {
          const s = SETTINGS.find((x) => x.key === key && x.key !== 'config');
          if (!s) {
            problem(
              `${file}:${key}`,
              `pcp-agent: ${show(file)} has an unknown setting ${show(key)}; known: ${SETTINGS.filter(
                (x) => x.key !== 'config',
              )
                .map((x) => x.key)
                .join(', ')}`,
            );
          } else apply(s, raw, `${file}: ${key}`);
        }
      }
    }
  }
  for (const s of SETTINGS) {
    if (s.key === 'config') continue;
    const raw = env[s.env];
    if (raw !== undefined) apply(s, raw, s.env);
  }
  return { config, problems };
}

/** Parses the configuration and logs each problem once, with its stable code. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const { config, problems } = parseConfig(env);
  for (const p of problems) warnOnce(p.code, p.message, `${p.code}:${p.subject}`);
  return config;
}

/** The README's table of settings, as Markdown. */
export function settingsTable(): string {
  const rows = SETTINGS.map(
    (s) => `| \`${s.env}\` | \`${s.key}\` | ${s.kind} | ${s.shown} | ${s.meaning} |`,
  );
  return [
    '| Variable | JSON key | Type | Default | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
