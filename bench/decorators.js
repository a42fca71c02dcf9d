// `npm run bench`, decorators: what @Counter, @Timer and @Histogram add to a call, beside the
// same plain call, measured in one run. Informational: always exits 0. `--json` adds JSON.
//
// Plain JavaScript has no decorator syntax on Node 20, so the decorators are applied as
// TypeScript's experimentalDecorators output does (the standard form wraps the same way).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Counter, Histogram, Registry, Timer } = require('../dist/src');
const { newRequestState, requestContext, shareRequestContext } = require('../dist/agent/context');
const { checksum, formatRatio, formatTime, measureAll, table } = require('./harness');

const json = process.argv.includes('--json');
const ROUNDS = { roundMs: 20, rounds: 25, warmup: 3 };
/** Targets from issue 4: the most a decorator may add to one sync call. */
const TARGETS = { counter: 30, timer: 100 };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-bench-decorators-'));
const registry = new Registry({ name: 'bench_decorators', dir: tmp, flushInterval: 0 });

/** Applies a decorator to a method the way TypeScript's __decorate does. */
function decorate(decorator, target, key) {
  const d = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, decorator(target, key, d) ?? d);
}

/** One class per case, so no case's call site sees another's method (each stays monomorphic). */
function service(name) {
  const cls = class {
    constructor() {
      this.base = 1;
    }

    add(x) {
      return x + this.base;
    }

    async addLater(x) {
      return x + this.base;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

const Plain = service('Plain');
const Counted = service('Counted');
decorate(Counter({ registry }), Counted.prototype, 'add');
const Timed = service('Timed');
decorate(Timer({ registry }), Timed.prototype, 'add');
decorate(Timer({ registry }), Timed.prototype, 'addLater');
const Distributed = service('Distributed');
decorate(Histogram({ registry, buckets: [0.001, 0.01, 0.1, 1] }), Distributed.prototype, 'add');
const ByInstance = service('ByInstance');
decorate(
  Counter({ registry, instance: (x) => (x & 1 ? 'odd' : 'even'), instances: ['odd', 'even'] }),
  ByInstance.prototype,
  'add',
);
registry.start();

// An app has many decorated methods, and all wrappers of one kind share V8's type feedback,
// so the wrapper's call of the original sees many functions and inlines none. Calling a dozen
// other decorated methods first gives the measured ones that realistic, slower state.
for (const [kind, decorator] of [
  ['Counted', Counter],
  ['Timed', Timer],
  ['Distributed', Histogram],
]) {
  for (let i = 0; i < 12; i++) {
    const Other = service(`Other${kind}${i}`);
    decorate(decorator({ registry }), Other.prototype, 'add');
    const other = new Other();
    for (let k = 0; k < 1000; k++) other.add(k);
  }
}

const plain = new Plain();
const counted = new Counted();
const timed = new Timed();
const distributed = new Distributed();
const byInstance = new ByInstance();

const ASYNC_CALLS = 2000;

// With the agent's request context on (PCP_AGENT_CONTEXT), a @Timer call also finds the request
// it serves (AsyncLocalStorage) and adds its time there. The context is shared (as the agent
// shares it) only while that case runs, so the other cases see context off.
const requests = requestContext(true);

// Each loop written out, not made by one helper: closures of one helper share V8's type
// feedback, which would make every call site see five classes and inline none of them.
const cases = {
  plain: {
    loop: (n) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += plain.add(k);
      return s;
    },
  },
  counter: {
    loop: (n) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += counted.add(k);
      return s;
    },
  },
  timer: {
    loop: (n) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += timed.add(k);
      return s;
    },
  },
  histogram: {
    loop: (n) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += distributed.add(k);
      return s;
    },
  },
  timerInRequest: {
    loop: (n) => {
      const unshare = shareRequestContext(requests);
      try {
        return requests.run(newRequestState(), () => {
          let s = 0;
          for (let k = 0; k < n; k++) s += timed.add(k);
          return s;
        });
      } finally {
        unshare();
      }
    },
  },
  counterInstance: {
    loop: (n) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += byInstance.add(k);
      return s;
    },
  },
  performanceNow: {
    loop: (n) => {
      let t = 0;
      for (let k = 0; k < n; k++) t += performance.now();
      return t;
    },
  },
  plainAsync: {
    calls: 20,
    prepare: () => {},
    call: async () => {
      let s = 0;
      for (let k = 0; k < ASYNC_CALLS; k++) s += await plain.addLater(k);
      return s;
    },
  },
  timerAsync: {
    calls: 20,
    prepare: () => {},
    call: async () => {
      let s = 0;
      for (let k = 0; k < ASYNC_CALLS; k++) s += await timed.addLater(k);
      return s;
    },
  },
};

const ROWS = [
  ['@Counter, sync method', 'counter', 'plain', TARGETS.counter],
  ['@Timer, sync method', 'timer', 'plain', TARGETS.timer],
  ['@Timer, sync method, in a request (context on)', 'timerInRequest', 'plain', null],
  ['@Histogram, sync method (4 buckets)', 'histogram', 'plain', null],
  ['@Counter, instance per call (2)', 'counterInstance', 'plain', null],
  ['@Timer, async method (per await)', 'timerAsync', 'plainAsync', null],
];

async function main() {
  const cpus = os.cpus();
  console.log(
    `\npcp-agent bench, decorators: ${cpus.length ? cpus[0].model.trim() : 'unknown'} × ${cpus.length}, Node ${process.version}, load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(`median of ${ROUNDS.rounds} rounds after ${ROUNDS.warmup} warm-up rounds\n`);
  const r = await measureAll(cases, ROUNDS);
  const per = (key) => (key.endsWith('Async') ? r[key].ns / ASYNC_CALLS : r[key].ns);
  const results = ROWS.map(([label, key, base, target]) => {
    const added = per(key) - per(base);
    return {
      label,
      key,
      ns: per(key),
      baseNs: per(base),
      addedNs: added,
      ratio: per(key) / per(base),
      target,
      pass: target === null ? null : added <= target,
    };
  });
  console.log(
    table(
      ['decorated call', 'ns/call', 'plain call', 'added', 'ratio', 'target'],
      results.map((x) => [
        x.label,
        formatTime(x.ns),
        formatTime(x.baseNs),
        formatTime(x.addedNs),
        formatRatio(x.ratio),
        x.target === null ? '—' : `≤ ${x.target} ns added: ${x.pass ? 'PASS' : 'MISS'}`,
      ]),
    ),
  );
  console.log(
    `\nbaseline: performance.now() ${formatTime(per('performanceNow'))} (a @Timer call reads it twice); checksum ${checksum()}`,
  );
  if (json) {
    console.log(
      JSON.stringify({ unit: 'ns per call (median of rounds)', results, cases: r }, null, 2),
    );
  }
}

main()
  .catch((err) => {
    console.error(err);
  })
  .finally(() => {
    registry.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exitCode = 0;
  });
