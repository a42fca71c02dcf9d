// The pcp-agent command line: parses arguments, runs dump or list, and maps failures to exit
// codes. Takes its streams and environment as arguments so tests can run it in-process.

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PcpAgentError } from '../errors';
import { mmvDir } from '../file/paths';
import { readMmvFile } from '../mmv/reader';
import { formatDump, formatJson } from './dump';
import { formatList, listMmvFiles } from './list';
import { PcpConfigUsageError, pcpConfig, pcpConfigUsage } from './pcp-config';
import { watchUsage } from './watch';

export const ExitCode = {
  OK: 0,
  /** A file or directory could not be read or decoded. */
  FILE_ERROR: 1,
  USAGE: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export function usage(env: NodeJS.ProcessEnv): string {
  return `Usage: pcp-agent <command> [options]

Commands:
  dump <name-or-path> [--json]   Print an MMV file: header, TOC, indoms, metrics, values, labels.
                                 A bare name (no "/") is looked up in ${mmvDir(env)}.
                                 --json prints the decoded structure (64-bit values as strings).
  list [--dir DIR]               List the MMV files in ${mmvDir(env)} (or DIR): version,
                                 writer pid and whether it is alive, metric and value counts.
${watchUsage(env)}${pcpConfigUsage()}  help                           Show this help.

Exit status: 0 ok, 1 file error, 2 usage error.
`;
}

/** A bare name is a file in $PCP_TMP_DIR/mmv; anything with a slash is a path. */
export function resolveMmvPath(nameOrPath: string, env: NodeJS.ProcessEnv): string {
  return nameOrPath.includes('/') ? nameOrPath : path.join(mmvDir(env), nameOrPath);
}

class UsageError extends Error {}

/** Runs node's parseArgs, turning its complaints into usage errors. */
function parsing<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function dump(args: readonly string[], io: CliIo): ExitCode {
  const { values, positionals } = parsing(() =>
    parseArgs({
      args: [...args],
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }),
  );
  if (values.help) {
    io.stdout(usage(io.env));
    return ExitCode.OK;
  }
  if (positionals.length !== 1 || positionals[0] === '') {
    throw new UsageError('dump needs exactly one file name or path');
  }
  const file = resolveMmvPath(positionals[0]!, io.env);
  const mmv = readMmvFile(file);
  io.stdout(values.json ? formatJson(mmv) : formatDump(mmv, file));
  return ExitCode.OK;
}

function list(args: readonly string[], io: CliIo): ExitCode {
  const { values, positionals } = parsing(() =>
    parseArgs({
      args: [...args],
      options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }),
  );
  if (values.help) {
    io.stdout(usage(io.env));
    return ExitCode.OK;
  }
  if (positionals.length > 0) {
    throw new UsageError(`list takes no arguments, got ${JSON.stringify(positionals[0])}`);
  }
  const dir = values.dir ?? mmvDir(io.env);
  if (dir === '') throw new UsageError('--dir needs a directory');
  io.stdout(formatList(dir, listMmvFiles(dir)));
  return ExitCode.OK;
}

/** Runs one command line (without node and the script name) and returns the exit code. */
export function runCli(args: readonly string[], io: CliIo): ExitCode {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case 'dump':
        return dump(rest, io);
      case 'list':
        return list(rest, io);
      case 'pcp-config':
        return pcpConfig(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout(usage(io.env));
        return ExitCode.OK;
      case undefined:
        throw new UsageError('missing command');
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof PcpConfigUsageError) {
      io.stderr(`pcp-agent: ${err.message}\nRun "pcp-agent help" for usage.\n`);
      return ExitCode.USAGE;
    }
    if (err instanceof PcpAgentError) {
      io.stderr(`pcp-agent: ${err.message}\n`);
      return ExitCode.FILE_ERROR;
    }
    throw err;
  }
}
