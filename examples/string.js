// String metrics: the application's version, which never changes, and its current mode,
// which does. Strings are `discrete` by default: PCP expects them to change rarely.
//
//   node examples/string.js          then   pminfo -dfmtT mmv.app
//                                           pmval -t 1 mmv.app.mode
//
// EXAMPLE_SECONDS (default 60) is how long it runs; EXAMPLE_INTERVAL_MS (default 5000) how
// often the mode changes, 0 to keep the starting values. The file is removed on exit.

'use strict';

const { Registry } = require('pcp-agent');

const seconds = Number(process.env.EXAMPLE_SECONDS || 60);
const interval = Number(process.env.EXAMPLE_INTERVAL_MS ?? 5000);

const registry = new Registry({ name: 'app', selfMetrics: false });

registry.string('version', {
  value: '1.4.2',
  help: 'Version of the running application',
});
const mode = registry.string('mode', {
  value: 'starting',
  help: 'What the application is doing now',
  longHelp: 'One of starting, serving, draining, maintenance.',
});

registry.start();
registry.flush();

// start() never throws for I/O: a directory we may not write to (PCP's own, for a user
// outside the pcp group) gives a warning, and pcp-agent retries at every flush.
console.log(
  registry.published
    ? `app: writing ${registry.path} for ${seconds} s; see it with: pminfo -f mmv.app (or pmval -t 1 mmv.app.mode)`
    : `app: cannot write ${registry.path} yet (see the warning); retrying every flush`,
);

// The modes in turn, the same order every run.
const modes = ['serving', 'draining', 'maintenance'];
let next = 0;
const cycle =
  interval > 0
    ? setInterval(() => {
        mode.set(modes[next]);
        next = (next + 1) % modes.length;
      }, interval)
    : null;

// When the time is up nothing keeps Node alive (the flush timer is unref'd), so the process
// exits normally and pcp-agent removes the file.
setTimeout(() => {
  if (cycle) clearInterval(cycle);
}, seconds * 1000);
