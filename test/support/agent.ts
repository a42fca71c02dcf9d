// An AgentContext for testing one instrumentation in-process: a registry in a fresh
// directory that flushes only when asked, and the values it wrote, read back from the file.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRequestState, requestContext } from '../../agent/context';
import { DEFAULT_CONFIG } from '../../agent/defaults';
import type { AgentConfig, AgentContext } from '../../agent/types';
import { Registry, readMmvFile } from '../../src/index';

export interface TestAgent extends AgentContext {
  readonly dir: string;
  readonly faults: { code: string; what: string; err?: unknown }[];
  /** Flushes, then reads the file: metric name → instance name ('' for a singleton) → value. */
  values(): Map<string, Map<string, number | bigint | string>>;
  /** One value: `value('http.server.requests', 'GET:/x:200')`; undefined if absent. */
  value(metric: string, instance?: string): number | bigint | string | undefined;
  close(): void;
}

export function makeTestAgent(config: Partial<AgentConfig> = {}, name = 'testapp'): TestAgent {
  const dir = mkdtempSync(join(tmpdir(), 'pcp-agent-test-'));
  const registry = new Registry({ name, dir, flushInterval: 0, removeOnExit: false });
  registry.start();
  const full: AgentConfig = { ...DEFAULT_CONFIG, ...config };
  const faults: TestAgent['faults'] = [];
  const values = () => {
    registry.flush();
    const file = readMmvFile(registry.path);
    const out = new Map<string, Map<string, number | bigint | string>>();
    for (const v of file.values) {
      const metric = v.metric.startsWith(`${name}.`) ? v.metric.slice(name.length + 1) : v.metric;
      let m = out.get(metric);
      if (!m) {
        m = new Map();
        out.set(metric, m);
      }
      m.set(v.instance ?? '', v.value);
    }
    return out;
  };
  return {
    registry,
    config: full,
    requests: requestContext(full.context),
    dir,
    faults,
    fault(code, what, err) {
      faults.push({ code, what, err });
      registry.reportError(code, what, err);
    },
    values,
    value(metric, instance = '') {
      return values().get(metric)?.get(instance);
    },
    close() {
      registry.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { newRequestState };
