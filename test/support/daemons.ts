// PCP's daemons for the fleet tests, started by the tests on loopback: a private pmcd (its own
// port, PCP_TMP_DIR, sockets and namespace, so a system pmcd is never touched), pmproxy in
// front of it, and the clients (pminfo, pmval, pmrep, pmlogger...) pointed at it.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe } from 'vitest';
import { pcpConfigValue } from '../../src/file/paths';
import { isCi } from './pcp';
import { poll } from './poll';

export { poll };

/** Where PCP keeps its daemons and helpers (/usr/lib/pcp/bin on Debian). */
export const PCP_BINADM_DIR = pcpConfigValue('PCP_BINADM_DIR') ?? '/usr/lib/pcp/bin';
const PCP_VAR_DIR = pcpConfigValue('PCP_VAR_DIR') ?? '/var/lib/pcp';
const MMV_PMDA = path.join(PCP_VAR_DIR, 'pmdas', 'mmv', 'pmda_mmv.so');
const PMCD_PMDA = path.join(PCP_VAR_DIR, 'pmdas', 'pmcd', 'pmda_pmcd.so');

const NEEDED = [
  path.join(PCP_BINADM_DIR, 'pmcd'),
  path.join(PCP_BINADM_DIR, 'pmproxy'),
  path.join(PCP_BINADM_DIR, 'pmnsmerge'),
  MMV_PMDA,
  path.join(path.dirname(MMV_PMDA), 'pmdammv'),
  PMCD_PMDA,
  ...['pminfo', 'pmval', 'pmrep', 'pmlogger', 'pmdumplog', 'pmlogconf'].map((c) =>
    path.join('/usr/bin', c),
  ),
];

/** The daemons and clients the fleet tests run, all from Debian's `pcp` package. */
export function daemonsAvailable(): boolean {
  return NEEDED.every((file) => fs.existsSync(file));
}

/** `describe` for tests that start PCP's daemons: skipped locally without them, a failure in CI. */
export function describeDaemons(name: string, body: () => void): void {
  const available = daemonsAvailable();
  if (!available && isCi()) {
    const missing = NEEDED.filter((file) => !fs.existsSync(file));
    throw new Error(
      `PCP's daemons are missing (${missing.join(', ')}); tests with real daemons must not skip in CI. Install them with .ci/install-pcp.`,
    );
  }
  describe.skipIf(!available)(name, body);
}

/**
 * The environment for PCP clients: no host derived metrics (a test names its own), and
 * Debian's Python for pmrep, whose `pmpython` runs whatever `python3` is first on PATH
 * (on a machine with pyenv, one without Debian's pcp module).
 */
export function clientEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PCP_DERIVED_CONFIG: '', ...extra };
  if (env.PCP_PYTHON_PROG === undefined && fs.existsSync('/usr/bin/python3')) {
    env.PCP_PYTHON_PROG = '/usr/bin/python3';
  }
  return env;
}

export interface Output {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Runs a PCP command to its end; rejects with its output on a non-zero exit or a timeout. */
export function runPcp(
  command: string,
  args: readonly string[],
  { env = clientEnv(), timeoutMs = 30_000 }: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Output> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const how = error.killed ? 'was killed (timeout)' : `exited with ${error.code}`;
        reject(
          new CommandError(
            `${command} ${args.join(' ')} ${how}\nstderr:\n${stderr}\nstdout:\n${stdout}`,
            stdout,
            stderr,
          ),
        );
      },
    );
  });
}

/** A port nobody listens on now (the daemon that takes it may still lose a race: retried). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface Daemon {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  output(): string;
}

/** cwd: where relative paths land (a daemon PMDA started by pmcd -f writes its log there). */
function startDaemon(binary: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Daemon {
  const child = spawn(binary, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<void>((resolve) => {
    child.on('exit', () => resolve());
    child.on('error', () => resolve());
  });
  return { child, exited, output: () => out };
}

function running(d: Daemon): boolean {
  return d.child.exitCode === null && d.child.signalCode === null;
}

/** SIGTERM, then SIGKILL if it lingers; resolves once it is gone. */
async function stopDaemon(d: Daemon): Promise<void> {
  if (!running(d)) return;
  d.child.kill('SIGTERM');
  const late = setTimeout(() => d.child.kill('SIGKILL'), 5_000);
  await d.exited;
  clearTimeout(late);
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}

export interface Pmcd {
  /** This pmcd's own PCP_TMP_DIR: an app under the agent publishes into its mmv/. */
  readonly pcpTmpDir: string;
  readonly port: number;
  /** The host specification for clients: `-h <host>`, pmproxy's hostspec. */
  readonly host: string;
  /** A scratch directory for the test (archives, configurations), removed at stop. */
  readonly scratch: string;
  /** The environment a daemon or pmlogger started against this pmcd runs with. */
  readonly daemonEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * pmcd's agents: pmcd's own (pmlogger and pmproxy ask it about the host) and pmdammv, which
 * reads $PCP_TMP_DIR/mmv from pmcd's environment: inside pmcd as a DSO (Debian's default), or
 * as a process of its own ('daemon').
 */
function pmcdConf(mmv: 'dso' | 'daemon'): string {
  const mmvLine =
    mmv === 'dso'
      ? `mmv\t70\tdso\tmmv_init\t${MMV_PMDA}`
      : `mmv\t70\tpipe\tbinary\t${path.join(path.dirname(MMV_PMDA), 'pmdammv')} -d 70`;
  return `pmcd\t2\tdso\tpmcd_init\t${PMCD_PMDA}\n${mmvLine}\n\n[access]\nallow ".*" : all;\n`;
}

/** A private pmcd on a loopback port; its namespace holds pmcd's and pmdammv's metrics. */
export async function startPmcd({ mmv = 'dso' }: { mmv?: 'dso' | 'daemon' } = {}): Promise<Pmcd> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-fleet-'));
  // pmproxy and pmlogger may switch to the pcp user; let them through and write where needed.
  fs.chmodSync(base, 0o755);
  const dir = (...parts: string[]) => path.join(base, ...parts);
  for (const d of ['tmp', 'tmp/mmv', 'run', 'log', 'scratch'])
    fs.mkdirSync(dir(d), { mode: 0o755 });
  for (const d of ['tmp/pmlogger', 'tmp/pmproxy', 'log/pmcd']) {
    fs.mkdirSync(dir(d));
    fs.chmodSync(dir(d), 0o777);
  }
  fs.writeFileSync(dir('pmcd.conf'), pmcdConf(mmv));
  await runPcp(path.join(PCP_BINADM_DIR, 'pmnsmerge'), [
    path.join(PCP_VAR_DIR, 'pmns', 'root_pmcd'),
    path.join(PCP_VAR_DIR, 'pmns', 'root_mmv'),
    dir('root'),
  ]);
  const daemonEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PCP_TMP_DIR: dir('tmp'),
    PCP_RUN_DIR: dir('run'),
    PCP_LOG_DIR: dir('log'),
    PCP_DERIVED_CONFIG: '',
  };
  const remove = () => fs.rmSync(base, { recursive: true, force: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const log = dir('log', `pmcd-${port}.log`);
    const args = ['-f', '-A', '-i', '127.0.0.1', '-p', String(port), '-l', log];
    args.push('-s', dir('run', `pmcd-${port}.socket`), '-c', dir('pmcd.conf'), '-n', dir('root'));
    const pmcd = startDaemon(
      path.join(PCP_BINADM_DIR, 'pmcd'),
      args,
      daemonEnv,
      dir('log', 'pmcd'),
    );
    try {
      await poll(
        `pmcd on ${host}`,
        async () => {
          if (!running(pmcd)) throw new Error(`pmcd exited\n${pmcd.output()}\n${readLog(log)}`);
          await runPcp('pminfo', ['-h', host, '-f', 'mmv.control.files'], { timeoutMs: 5_000 });
          return true;
        },
        { timeoutMs: 15_000 },
      );
    } catch (err) {
      await stopDaemon(pmcd);
      if (attempt < 3) continue;
      remove();
      throw err;
    }
    return {
      pcpTmpDir: dir('tmp'),
      port,
      host,
      scratch: dir('scratch'),
      daemonEnv,
      async stop() {
        await stopDaemon(pmcd);
        remove();
      },
    };
  }
}

/** Resolves once pmcd serves the metric (pmdammv rescans its directory on each request). */
export function waitForMetric(pmcd: Pmcd, name: string, timeoutMs = 15_000): Promise<string> {
  return poll(
    `${name} through pmcd ${pmcd.host}`,
    async () =>
      (await runPcp('pminfo', ['-h', pmcd.host, '-f', name], { timeoutMs: 5_000 })).stdout,
    { timeoutMs },
  );
}

export interface Pmproxy {
  /** e.g. http://127.0.0.1:45123 */
  readonly url: string;
  stop(): Promise<void>;
}

// Live metrics only: the REST API and OpenMetrics work without a key-value server.
const PMPROXY_CONF = `[pmproxy]
pcp.enabled = true
http.enabled = true
redis.enabled = false
secure.enabled = false

[redis]
enabled = false

[discover]
enabled = false

[pmsearch]
enabled = false

[pmseries]
enabled = false
`;

/** pmproxy on a loopback port, asking the given pmcd (pass hostspec=<pmcd.host>). */
export async function startPmproxy(pmcd: Pmcd): Promise<Pmproxy> {
  const conf = path.join(pmcd.scratch, 'pmproxy.conf');
  fs.writeFileSync(conf, PMPROXY_CONF);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const log = path.join(pmcd.scratch, `pmproxy-${port}.log`);
    const args = ['-f', '-A', '-i', '127.0.0.1', '-p', String(port), '-c', conf, '-l', log];
    args.push('-s', path.join(pmcd.scratch, `pmproxy-${port}.socket`));
    const pmproxy = startDaemon(
      path.join(PCP_BINADM_DIR, 'pmproxy'),
      args,
      pmcd.daemonEnv,
      pmcd.scratch,
    );
    try {
      await poll(`pmproxy on ${url}`, async () => {
        if (!running(pmproxy)) {
          throw new Error(`pmproxy exited\n${pmproxy.output()}\n${readLog(log)}`);
        }
        const res = await fetch(`${url}/pmapi/context?hostspec=${pmcd.host}`);
        return res.ok ? true : undefined;
      });
    } catch (err) {
      await stopDaemon(pmproxy);
      if (attempt < 3) continue;
      throw err;
    }
    return { url, stop: () => stopDaemon(pmproxy) };
  }
}

/** Records `config` from the pmcd into an archive for `seconds`, then returns its base name. */
export async function recordArchive(
  pmcd: Pmcd,
  config: string,
  { name = 'archive', seconds = 3 }: { name?: string; seconds?: number } = {},
): Promise<string> {
  const archive = path.join(pmcd.scratch, name);
  const log = path.join(pmcd.scratch, `${name}.pmlogger.log`);
  try {
    await runPcp(
      'pmlogger',
      ['-h', pmcd.host, '-c', config, '-l', log, '-T', `${seconds}sec`, archive],
      { env: pmcd.daemonEnv, timeoutMs: (seconds + 20) * 1000 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\npmlogger log:\n${readLog(log)}`);
  }
  return archive;
}
