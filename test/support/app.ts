// Real apps under the agent: spawned with `--require pcp-agent` or `--import pcp-agent`, in
// their own PCP_TMP_DIR, talking over stdio (the app prints `READY …`; "quit" ends it).

import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makePcpTmpDir } from './pcp';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'apps');

export interface AppOptions {
  preload?: 'require' | 'import' | 'both' | 'none';
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Reuse a PCP_TMP_DIR (several processes in one directory). */
  pcpTmpDir?: string;
  nodeArgs?: string[];
}

export interface AppRun {
  readonly child: ChildProcess;
  readonly pcpTmpDir: string;
  readonly mmvDir: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the first stdout line matching re (lines seen before count too). */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Writes a line to the app's stdin. */
  send(text: string): void;
  /** Resolves when the app has exited. */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Files in the mmv directory, without dot-files. */
  files(): string[];
}

export function spawnApp(script: string, options: AppOptions = {}): AppRun {
  const pcpTmpDir = options.pcpTmpDir ?? makePcpTmpDir();
  const mmvDir = path.join(pcpTmpDir, 'mmv');
  const preload = options.preload ?? 'require';
  const flags: string[] = [];
  if (preload === 'require' || preload === 'both') flags.push('--require', 'pcp-agent');
  if (preload === 'import' || preload === 'both') flags.push('--import', 'pcp-agent');
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      ...flags,
      path.isAbsolute(script) ? script : path.join(FIXTURES, script),
      ...(options.args ?? []),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PCP_TMP_DIR: pcpTmpDir,
        PCP_AGENT_DIR: mmvDir,
        PCP_AGENT_FLUSH_INTERVAL: '100',
        NODE_OPTIONS: '',
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of [...waiters]) {
      const hit = out.split('\n').find((l) => w.re.test(l));
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const describe = () => `\nstdout:\n${out}\nstderr:\n${err}`;
  return {
    child,
    pcpTmpDir,
    mmvDir,
    stdout: () => out,
    stderr: () => err,
    line(re, timeoutMs = 15_000) {
      const hit = out.split('\n').find((l) => re.test(l));
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`no line ${re} from ${script}${describe()}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        exit.then(() =>
          setTimeout(() => reject(new Error(`${script} exited before ${re}${describe()}`)), 50),
        );
      });
    },
    send(text) {
      child.stdin?.write(`${text}\n`);
    },
    exited(timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${script} did not exit within ${timeoutMs} ms${describe()}`));
        }, timeoutMs);
        exit.then((r) => {
          clearTimeout(t);
          resolve(r);
        });
      });
    },
    files() {
      try {
        return fs
          .readdirSync(mmvDir)
          .filter((f) => !f.startsWith('.'))
          .sort();
      } catch {
        return [];
      }
    },
  };
}

/** For an afterAll: ends an app still running ("quit", else SIGKILL); nothing if it is not. */
export async function stopApp(app: AppRun | undefined): Promise<void> {
  if (app === undefined || app.child.exitCode !== null) return;
  app.send('quit');
  await app.exited().catch(() => app.child.kill('SIGKILL'));
}
