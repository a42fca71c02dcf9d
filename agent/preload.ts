// Whether the package was loaded as a preload (`--require pcp-agent`, `--import pcp-agent`,
// or either in NODE_OPTIONS) rather than imported by the app as a library. Only a preload
// starts the agent; an app that imports the library gets the library alone.

import * as path from 'node:path';

/** Splits NODE_OPTIONS the way Node does: on spaces, with double quotes grouping. */
export function splitNodeOptions(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:\\.|[^"\\])*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  }
  return out;
}

const PRELOAD_FLAGS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);

/** The module specifiers given to --require/-r/--import in a list of Node arguments. */
export function preloadSpecifiers(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    const eq = a.indexOf('=');
    if (eq > 0 && PRELOAD_FLAGS.has(a.slice(0, eq))) out.push(a.slice(eq + 1));
    else if (PRELOAD_FLAGS.has(a) && k + 1 < args.length) out.push(args[++k]);
  }
  return out;
}

/** Whether a preload specifier names this package (by name, or a path into it). */
export function namesThisPackage(specifier: string, packageRoot: string, cwd: string): boolean {
  if (specifier === 'pcp-agent' || specifier.startsWith('pcp-agent/')) return true;
  if (specifier.startsWith('file://')) specifier = new URL(specifier).pathname;
  if (!/^\.{0,2}\//.test(specifier)) return false;
  const abs = path.resolve(cwd, specifier);
  return abs === packageRoot || abs.startsWith(packageRoot + path.sep);
}

/** Whether this module was loaded as a preload. */
export function loadedAsPreload(
  mod: NodeJS.Module | undefined,
  packageRoot: string,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
  cwd: string = process.cwd(),
): boolean {
  // `--require` (on the command line or in NODE_OPTIONS) loads us from Node's preload module.
  let parent: NodeJS.Module | null | undefined = mod;
  for (let k = 0; parent && k < 8; k++) {
    if (parent.id === 'internal/preload') return true;
    parent = (parent as { parent?: NodeJS.Module | null }).parent;
  }
  // `--import` gives no parent: look for ourselves among the preload flags.
  return [...preloadSpecifiers(execArgv), ...preloadSpecifiers(splitNodeOptions(nodeOptions))].some(
    (s) => namesThisPackage(s, packageRoot, cwd),
  );
}
