// A decorated method's rejected promise that nobody handles: the process sees the same
// unhandled rejection as without the decorator (the decorator returns a promise of its own,
// and handles the method's, so this is the behaviour to prove, in processes of their own).

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/app';

const SCRIPT = path.join(ROOT, 'test', 'fixtures', 'decorators', 'unhandled.cjs');

function run(mode: 'plain' | 'decorated', how: string, method: string) {
  const r = spawnSync(process.execPath, [SCRIPT, mode, how, method], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 20_000,
  });
  // The stack's first line names the error; the frames below it differ by design (a wrapper).
  const thrown = r.stderr.split('\n').find((l) => l.startsWith('Error: '));
  return { status: r.status, stdout: r.stdout, thrown };
}

describe.each(['run', 'later'])('a rejected promise from %s()', (method) => {
  it('nobody handles it: the process ends the same way, with the same error', () => {
    const plain = run('plain', 'crash', method);
    const decorated = run('decorated', 'crash', method);
    expect(plain.status).toBe(1);
    expect(plain.thrown).toBe('Error: nobody handles this');
    expect(decorated).toEqual(plain);
  });

  it('an unhandledRejection listener gets it once, with the same reason object', () => {
    const decorated = run('decorated', 'listen', method);
    expect(decorated.stdout).toBe('UNHANDLED true\n');
    expect(decorated).toEqual(run('plain', 'listen', method));
  });

  it('the caller handles it: no unhandled rejection at all', () => {
    const decorated = run('decorated', 'handled', method);
    expect(decorated.stdout).toBe('HANDLED true\n');
    expect(decorated.status).toBe(0);
  });
});
