// The agent's configuration: PCP_AGENT_* variables and the JSON file, parsed from one table;
// bad values warn with a stable code and keep the default; the README's table is that table.

import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, SETTINGS } from '../agent/config';
import { DEFAULT_CONFIG } from '../agent/defaults';
import { loadedAsPreload, preloadSpecifiers, splitNodeOptions } from '../agent/preload';

describe('environment variables', () => {
  it('give the defaults when none is set', () => {
    const { config, problems } = parseConfig({});
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(problems).toEqual([]);
  });

  it('override each setting', () => {
    const { config, problems } = parseConfig({
      PCP_AGENT_ENABLED: 'no',
      PCP_AGENT_NAME: 'shop',
      PCP_AGENT_DIR: '/tmp/x',
      PCP_AGENT_FLUSH_INTERVAL: '250',
      PCP_AGENT_HTTP: 'off',
      PCP_AGENT_HTTP_CLIENT: '0',
      PCP_AGENT_TIMERS: 'FALSE',
      PCP_AGENT_RUNTIME: 'false',
      PCP_AGENT_GC: 'yes',
      PCP_AGENT_CONTEXT: 'true',
      PCP_AGENT_MAX_ROUTES: '7',
      PCP_AGENT_MAX_HOSTS: '3',
      PCP_AGENT_DURATION_BUCKETS: '1, 2.5,10',
      PCP_AGENT_WINDOW: '0',
      PCP_AGENT_EVENT_LOOP_RESOLUTION: '50',
    });
    expect(problems).toEqual([]);
    expect(config).toEqual({
      enabled: false,
      name: 'shop',
      dir: '/tmp/x',
      flushInterval: 250,
      http: false,
      httpClient: false,
      timers: false,
      runtime: false,
      gc: true,
      context: true,
      maxRoutes: 7,
      maxHosts: 3,
      durationBuckets: [1, 2.5, 10],
      window: 0,
      eventLoopResolution: 50,
    });
  });

  it.each([
    ['PCP_AGENT_FLUSH_INTERVAL', 'fast', 'must be a whole number >= 100'],
    ['PCP_AGENT_FLUSH_INTERVAL', '50', 'must be a whole number >= 100'],
    ['PCP_AGENT_MAX_ROUTES', '0', 'must be a whole number >= 1'],
    ['PCP_AGENT_MAX_ROUTES', '1.5', 'must be a whole number >= 1'],
    ['PCP_AGENT_HTTP', 'maybe', 'must be true or false'],
    ['PCP_AGENT_DURATION_BUCKETS', '10,5', 'ascending'],
    ['PCP_AGENT_DURATION_BUCKETS', '', 'ascending'],
    ['PCP_AGENT_NAME', '  ', 'non-empty name'],
    ['PCP_AGENT_EVENT_LOOP_RESOLUTION', '0', 'must be a whole number >= 1'],
  ])(
    '%s=%j is refused with a warning naming the rule and value; the default stays',
    (env, value, rule) => {
      const { config, problems } = parseConfig({ [env]: value });
      const key = SETTINGS.find((s) => s.env === env)?.key as keyof typeof config;
      expect(config[key]).toEqual(DEFAULT_CONFIG[key]);
      expect(problems).toHaveLength(1);
      expect(problems[0].code).toBe('PCP_AGENT_WARN_CONFIG');
      expect(problems[0].message).toContain(env);
      expect(problems[0].message).toContain(rule);
      expect(problems[0].message).toContain(JSON.stringify(value));
    },
  );

  it('reports every bad variable, not only the first', () => {
    const { problems } = parseConfig({ PCP_AGENT_HTTP: 'x', PCP_AGENT_TIMERS: 'y' });
    expect(problems.map((p) => p.subject)).toEqual(['PCP_AGENT_HTTP', 'PCP_AGENT_TIMERS']);
  });
});

describe('the JSON config file', () => {
  const files: Record<string, string> = {
    '/cfg/good.json': JSON.stringify({ maxRoutes: 200, timers: false, durationBuckets: [1, 2] }),
    '/cfg/bad.json': '{ not json',
    '/cfg/mixed.json': JSON.stringify({ maxRoutes: -1, colour: 'blue', runtime: false }),
  };
  const read = (p: string) => {
    if (!(p in files)) throw new Error(`ENOENT: no such file ${p}`);
    return files[p];
  };

  it('sets what it names, and the environment overrides it', () => {
    const { config, problems } = parseConfig(
      { PCP_AGENT_CONFIG: '/cfg/good.json', PCP_AGENT_MAX_ROUTES: '5' },
      read,
    );
    expect(problems).toEqual([]);
    expect(config.maxRoutes).toBe(5);
    expect(config.timers).toBe(false);
    expect(config.durationBuckets).toEqual([1, 2]);
  });

  it('that cannot be read or parsed is one warning, and the rest still applies', () => {
    for (const file of ['/cfg/bad.json', '/cfg/missing.json']) {
      const { config, problems } = parseConfig(
        { PCP_AGENT_CONFIG: file, PCP_AGENT_TIMERS: 'false' },
        read,
      );
      expect(problems).toHaveLength(1);
      expect(problems[0].message).toContain(file);
      expect(config.timers).toBe(false);
    }
  });

  it('with a bad value or an unknown key warns for each and keeps the good ones', () => {
    const { config, problems } = parseConfig({ PCP_AGENT_CONFIG: '/cfg/mixed.json' }, read);
    expect(config.runtime).toBe(false);
    expect(config.maxRoutes).toBe(DEFAULT_CONFIG.maxRoutes);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/maxRoutes.*-1[\s\S]*"colour"/);
  });
});

describe('the README', () => {
  it('documents exactly the settings table', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    const rows = readme
      .split('\n')
      .filter((l) => /^\| `PCP_AGENT_[A-Z_]+` *\| `/.test(l))
      .map((l) =>
        l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    expect(rows).toEqual(
      SETTINGS.map((s) => [`\`${s.env}\``, `\`${s.key}\``, s.kind, s.shown, s.meaning]),
    );
  });
});

describe('preload detection', () => {
  const root = '/srv/app/node_modules/pcp-agent';

  it('splits NODE_OPTIONS as Node does, with quotes', () => {
    expect(splitNodeOptions('--require pcp-agent  --import "./a b.mjs" -r=x')).toEqual([
      '--require',
      'pcp-agent',
      '--import',
      './a b.mjs',
      '-r=x',
    ]);
  });

  it('finds the specifiers of --require, -r, --import in both spellings', () => {
    expect(
      preloadSpecifiers([
        '--require',
        'a',
        '-r',
        'b',
        '--import=c',
        '--max-old-space-size=5',
        '--import',
        'd',
      ]),
    ).toEqual(['a', 'b', 'c', 'd']);
  });

  it('is true for --import pcp-agent (by name or path) and false for a plain import', () => {
    expect(loadedAsPreload(undefined, root, ['--import', 'pcp-agent'], '', '/srv/app')).toBe(true);
    expect(loadedAsPreload(undefined, root, [], '--import=pcp-agent', '/srv/app')).toBe(true);
    expect(
      loadedAsPreload(
        undefined,
        root,
        ['--import', './node_modules/pcp-agent/dist/agent/index.js'],
        '',
        '/srv/app',
      ),
    ).toBe(true);
    expect(loadedAsPreload(undefined, root, ['--import', 'other-agent'], '', '/srv/app')).toBe(
      false,
    );
    expect(loadedAsPreload(undefined, root, [], '', '/srv/app')).toBe(false);
  });

  it('is true when Node loads the module from its preload', () => {
    const preload = { id: 'internal/preload' } as NodeJS.Module;
    const mod = { id: '/x/index.js', parent: preload } as unknown as NodeJS.Module;
    expect(loadedAsPreload(mod, root, [], '', '/srv/app')).toBe(true);
  });
});
