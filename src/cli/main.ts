#!/usr/bin/env node
// Entry point of the pcp-agent command (the package's bin): hands argv to runCli and exits
// with its code. Everything testable lives in run.ts, dump.ts and list.ts.

import { runCli } from './run';

// `pcp-agent dump x | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

// exitCode instead of exit(): a large dump piped to another process must finish flushing.
process.exitCode = runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
