// The agent's lifecycle: start once per process (however many copies of the package are
// loaded), publish in the default registry the app shares, enable each instrumentation, and
// never let any of it throw into the app, hold its event loop open, or touch its signals.

import { isMainThread } from 'node:worker_threads';
import { warnOnce } from '../src/errors';
import { removeDeadFiles } from '../src/file/naming';
import { mmvDir } from '../src/file/paths';
import {
  appName,
  defaultRegistry,
  existingDefaultRegistry,
  type Registry,
  sanitizeName,
} from '../src/index';
import { loadConfig } from './config';
import { requestContext, shareRequestContext } from './context';
import { INSTRUMENTATIONS } from './instrumentations';
import type { AgentConfig, AgentContext, Instrumentation } from './types';
import { AGENT_VERSION } from './version';

const SLOT = Symbol.for('pcp-agent.agent');

/** How often the files of the app's dead processes are looked for (and at start). */
const CLEANUP_INTERVAL_MS = 60_000;

export interface Agent {
  readonly registry: Registry;
  readonly config: AgentConfig;
  /** Names of the instrumentations running. */
  readonly enabled: readonly string[];
  /** Undoes every patch and removes the file. The app keeps running. */
  stop(): void;
}

type Slot = { [SLOT]?: Agent | null };

/** The running agent, if any. */
export function getAgent(): Agent | undefined {
  return (globalThis as Slot)[SLOT] ?? undefined;
}

/**
 * Starts the agent if it is not running: once per process, in the main thread only (a worker
 * thread's preload does nothing: see the README). Never throws; returns undefined when it did
 * not start (disabled, a worker thread, or an internal error, which is warned once).
 */
export function startAgent(env: NodeJS.ProcessEnv = process.env): Agent | undefined {
  const slot = globalThis as Slot;
  if (SLOT in slot) return slot[SLOT] ?? undefined;
  slot[SLOT] = null; // claimed: a second copy of the package loaded during start-up is a no-op
  try {
    if (!isMainThread) return undefined;
    const config = loadConfig(env);
    if (!config.enabled) return undefined;
    const agent = launch(config);
    slot[SLOT] = agent;
    return agent;
  } catch (err) {
    warnOnce(
      'PCP_AGENT_WARN_START',
      `pcp-agent: the agent did not start; the app runs without it: ${err instanceof Error ? err.message : String(err)}`,
    );
    return undefined;
  }
}

function launch(config: AgentConfig): Agent {
  // PCP_AGENT_NAME is made valid for PCP like a package name (`my-app` → `my_app`).
  const base = config.name === undefined ? appName() : sanitizeName(config.name);
  const dir = config.dir ?? mmvDir();
  const registry = defaultRegistry({ name: base, dir, flushInterval: config.flushInterval });
  registry.string('pcp_agent.version', {
    value: AGENT_VERSION,
    help: 'Version of pcp-agent publishing this file',
  });
  const ctx: AgentContext = {
    registry,
    config,
    requests: requestContext(config.context),
    fault: (code, what, err) => registry.reportError(code, `pcp-agent: ${what}`, err),
  };
  const unshare = shareRequestContext(ctx.requests);
  // Before the instrumentations: the agent's own timer is not the app's (timers metrics).
  const cleanup = setInterval(() => {
    try {
      removeDeadFiles(dir, base);
    } catch (err) {
      ctx.fault('PCP_AGENT_WARN_CLEANUP', 'removing dead processes’ files failed', err);
    }
  }, CLEANUP_INTERVAL_MS);
  cleanup.unref();
  const running: Instrumentation[] = [];
  for (const make of INSTRUMENTATIONS) {
    let inst: Instrumentation | undefined;
    try {
      inst = make();
      if (!config[inst.name as keyof AgentConfig]) continue;
      inst.enable(ctx);
      running.push(inst);
    } catch (err) {
      ctx.fault(
        'PCP_AGENT_WARN_INSTRUMENT',
        `${inst?.name ?? 'an instrumentation'} could not be enabled`,
        err,
      );
      try {
        inst?.disable();
      } catch {
        // half-enabled: nothing more to undo safely
      }
    }
  }
  let stopped = false;
  return {
    registry,
    config,
    enabled: running.map((i) => i.name),
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(cleanup);
      unshare();
      for (const inst of running.reverse()) {
        try {
          inst.disable();
        } catch (err) {
          ctx.fault('PCP_AGENT_WARN_INSTRUMENT', `${inst.name} could not be disabled`, err);
        }
      }
      if (existingDefaultRegistry() === registry) registry.stop();
    },
  };
}
