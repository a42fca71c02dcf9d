// File names for the processes of one app, and the cleanup of dead processes' files: what
// keeps several processes from overwriting each other and restarts from piling files up.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appName,
  claimName,
  freeCluster,
  processFileName,
  releaseName,
  removeDeadFiles,
  removeThreadFiles,
  sanitizeName,
  threadFileName,
} from '../src/file/naming';
import { Header } from '../src/mmv/format';
import { Registry } from '../src/registry/registry';

let dir: string;
const registries: Registry[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-naming-'));
});

afterEach(() => {
  for (const r of registries.splice(0)) r.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A pid that is certainly dead: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

/** Publishes a file as process `pid` would have (the header's pid field is patched). */
function publishAs(name: string, pid: number, cluster?: number): string {
  const r = new Registry({ name, dir, flushInterval: 0, removeOnExit: false, cluster });
  r.start();
  const file = path.join(dir, name);
  const bytes = fs.readFileSync(file);
  bytes.writeInt32LE(pid, Header.PID);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('app names', () => {
  it.each([
    ['my-shop-api', 'my_shop_api'],
    ['@acme/web-api', 'acme_web_api'],
    ['2fa-service', 'app_2fa_service'],
    ['server.js', 'server_js'],
    ['---', 'node'],
    ['Ünïcode', 'n_code'],
  ])('%j becomes %j', (input, expected) => {
    expect(sanitizeName(input)).toBe(expected);
  });

  it('come from the package.json nearest the script, else the script name', () => {
    const app = path.join(dir, 'app');
    fs.mkdirSync(path.join(app, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'orders-api' }));
    expect(appName(path.join(app, 'lib', 'main.js'), '/')).toBe('orders_api');
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-bare-'));
    try {
      // os.tmpdir() has no package.json above it on these machines
      expect(appName(path.join(bare, 'worker-job.mjs'), '/')).toBe('worker_job');
    } finally {
      fs.rmSync(bare, { recursive: true });
    }
  });
});

describe('one file per process', () => {
  it('is the app name for a single process', () => {
    expect(processFileName('shop', dir, {}, 1, undefined)).toBe('shop');
  });

  it('adds the cluster worker slot or the pm2 instance', () => {
    expect(processFileName('shop', dir, {}, process.pid, 3)).toBe('shop.worker1');
    expect(processFileName('shop', dir, { NODE_APP_INSTANCE: '1' }, 1, undefined)).toBe(
      'shop.instance1',
    );
  });

  it('adds this pid when another live process publishes the name', () => {
    publishAs('shop', process.ppid); // our parent: alive
    expect(processFileName('shop', dir, {}, 4242)).toBe('shop.pid4242');
  });

  it('gives a cluster worker the lowest slot no live process holds', () => {
    fs.writeFileSync(path.join(dir, '.shop.worker1.lock'), String(process.ppid)); // alive
    fs.writeFileSync(path.join(dir, '.shop.worker2.lock'), String(deadPid()));
    // worker id 7 (a restart): it takes over slot 2 from the dead worker
    expect(processFileName('shop', dir, {}, process.pid, 7)).toBe('shop.worker2');
    expect(fs.readFileSync(path.join(dir, '.shop.worker2.lock'), 'utf8')).toBe(String(process.pid));
  });

  it('claims a name for one live process at a time, released only by its holder', () => {
    expect(claimName(dir, 'shop', process.pid)).toBe(true);
    expect(claimName(dir, 'shop', process.ppid)).toBe(false);
    releaseName(dir, 'shop', process.ppid);
    expect(fs.existsSync(path.join(dir, '.shop.lock'))).toBe(true);
    releaseName(dir, 'shop', process.pid);
    expect(fs.existsSync(path.join(dir, '.shop.lock'))).toBe(false);
    expect(claimName(dir, 'shop', process.ppid)).toBe(true);
  });

  it("reuses the name of a dead process's file", () => {
    publishAs('shop', deadPid());
    expect(processFileName('shop', dir, {})).toBe('shop');
  });
});

describe('worker threads', () => {
  it("name a thread's file after its process, claimed for this pid", () => {
    expect(threadFileName('shop.worker2', 3, dir)).toBe('shop.worker2.thread3');
    expect(fs.readFileSync(path.join(dir, '.shop.worker2.thread3.lock'), 'utf8')).toBe(
      String(process.pid),
    );
    // A lock another live process planted: this pid's own name instead.
    fs.writeFileSync(path.join(dir, '.shop.thread1.lock'), String(process.ppid));
    expect(threadFileName('shop', 1, dir)).toBe(`shop.thread1.pid${process.pid}`);
  });

  it("are cleaned up at the main thread's exit: this pid's thread files and locks only", () => {
    publishAs('shop.thread1', process.pid);
    claimName(dir, 'shop.thread1', process.pid);
    publishAs(`shop.thread2.pid${process.pid}`, process.pid);
    publishAs('shop.thread3', process.ppid); // another live process's
    publishAs('shop.threads', process.pid); // not a thread suffix
    publishAs('shop.worker1.thread1', process.pid); // another process name's thread
    removeThreadFiles(dir, 'shop');
    expect(fs.readdirSync(dir).sort()).toEqual([
      'shop.thread3',
      'shop.threads',
      'shop.worker1.thread1',
    ]);
  });

  it('are cleaned up one thread at a time as each ends: that thread only', () => {
    publishAs('shop.thread1', process.pid);
    claimName(dir, 'shop.thread1', process.pid);
    publishAs(`shop.thread1.pid${process.pid}`, process.pid);
    publishAs('shop.thread12', process.pid); // another thread, whose id starts alike
    publishAs('shop.thread2', process.pid);
    removeThreadFiles(dir, 'shop', process.pid, 1);
    expect(fs.readdirSync(dir).sort()).toEqual(['shop.thread12', 'shop.thread2']);
  });
});

describe('dead files', () => {
  it("are removed for the app's dead processes only", () => {
    const dead = deadPid();
    publishAs('shop', dead);
    publishAs('shop.worker1', dead);
    publishAs('shop.worker2', process.ppid); // alive
    publishAs('shopping', dead); // another app that merely shares a prefix
    fs.writeFileSync(path.join(dir, `.shop.worker3.${dead}.tmp`), 'partial');
    fs.writeFileSync(path.join(dir, 'shop.notes'), 'not an MMV file');
    const removed = removeDeadFiles(dir, 'shop').sort();
    expect(removed).toEqual([`.shop.worker3.${dead}.tmp`, 'shop', 'shop.worker1']);
    expect(fs.readdirSync(dir).sort()).toEqual(['shop.notes', 'shop.worker2', 'shopping']);
  });
});

describe('cluster ids', () => {
  it("avoid every live file's cluster in the directory", () => {
    const wanted = freeCluster(dir, 'shop.worker1');
    publishAs('other', process.ppid, wanted);
    const got = freeCluster(dir, 'shop.worker1');
    expect(got).not.toBe(wanted);
    expect(got).toBeGreaterThanOrEqual(1);
    expect(got).toBeLessThanOrEqual(2047);
  });

  it("may reuse a dead process's cluster", () => {
    const wanted = freeCluster(dir, 'shop.worker1');
    publishAs('other', deadPid(), wanted);
    expect(freeCluster(dir, 'shop.worker1')).toBe(wanted);
  });
});
