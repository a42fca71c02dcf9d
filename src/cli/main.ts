#!/usr/bin/env node
// Entry point of the pcp-agent command (the package's bin): hands argv to runCli, or to
// runWatch for `watch` (it runs until stopped), and exits with its code.

import { runCli } from './run';
import { runWatch } from './watch';

// `pcp-agent dump x | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

const env = process.env;
const stdout = (text: string): void => {
  process.stdout.write(text);
};
const stderr = (text: string): void => {
  process.stderr.write(text);
};

const [command, ...rest] = process.argv.slice(2);
if (command === 'watch') {
  // Ctrl-C ends the watch normally: the last frame stays on screen and the exit code is 0.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  void runWatch(
    rest,
    { stdout, stderr, env, isTTY: process.stdout.isTTY === true },
    stop.signal,
  ).then((code) => {
    process.exitCode = code;
  });
} else {
  // exitCode instead of exit(): a large dump piped to another process must finish flushing.
  process.exitCode = runCli(process.argv.slice(2), {
    stdout,
    stderr,
    env,
  });
}
