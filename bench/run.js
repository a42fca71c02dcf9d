// `npm run bench`: the cost of each hot-path update and of a flush, beside a plain
// Float64Array store and the same operation in prom-client and in the OpenTelemetry metrics
// SDK. Informational: always exits 0.
// `--json` prints the results as JSON after the tables.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createHistogram, performance } = require('node:perf_hooks');
const prom = require('prom-client');
const otel = require('@opentelemetry/sdk-metrics');
const { Registry } = require('../dist/src');
const { checksum, consume, formatRatio, formatTime, measureAll, table } = require('./harness');

const json = process.argv.includes('--json');
const ROUNDS = { roundMs: 20, rounds: 25, warmup: 3 };
const FLUSHES_PER_ROUND = 50;
const SCRAPES_PER_ROUND = 10;

const ROUTES = Array.from({ length: 10 }, (_, i) => `route${i}`);
const BUCKETS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500];
const FLUSH_SIZE = 1000;

/** 1024 latencies in ms, exponential around 20 ms, from a fixed seed: every run sees the same. */
const SAMPLES = (() => {
  const out = new Float64Array(1024);
  let s = 0x2545f491;
  for (let k = 0; k < out.length; k++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[k] = -20 * Math.log(((s >>> 0) + 1) / 4294967297);
  }
  return out;
})();
/** The same values as the histogram hands them to HDR counting (resolution 0.001, at least 1). */
const SAMPLE_INTS = Int32Array.from(SAMPLES, (x) => Math.max(1, Math.round(x * 1000)));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-bench-'));

// ---- pcp-agent -----------------------------------------------------------------------

const ours = new Registry({ name: 'bench', dir: tmp, flushInterval: 0 });
const counter = ours.counter('requests');
const counters = Array.from({ length: 8 }, (_, i) => ours.counter(`requests${i}`));
const counterByRoute = ours.counter('requests_by_route', { indom: ROUTES });
const cachedRoute = counterByRoute.instance('route3');
const gauge = ours.gauge('queue_length');
const timer = ours.timer('work');
const histogram = ours.histogram('latency', { buckets: BUCKETS });
ours.start();

const flushing = new Registry({ name: 'bench_flush', dir: tmp, flushInterval: 0 });
const FLUSH_NAMES = Array.from({ length: FLUSH_SIZE }, (_, i) => `i${i}`);
const flushVector = flushing.gauge('values', { indom: FLUSH_NAMES });
const flushHandles = FLUSH_NAMES.map((n) => flushVector.instance(n));
flushing.start();

// ---- prom-client ---------------------------------------------------------------------
//
// prom-client's methods are shared by all metrics of a kind, and V8 optimises them for every
// way they are called: here inc() with and without labels, observe() directly and through
// startTimer(), as in an application that does both. A second copy of the module, whose
// Counter is only ever incremented unlabelled and whose Histogram only observes directly,
// shows the best case, as in a process that never does anything else.

/** A separate instance of a module: its own classes, so its own optimised code. */
function requireFresh(name) {
  const dir = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
  const cached = Object.keys(require.cache).filter((k) => k.includes(dir));
  const saved = cached.map((k) => [k, require.cache[k]]);
  for (const k of cached) delete require.cache[k];
  try {
    return require(name);
  } finally {
    for (const k of Object.keys(require.cache)) if (k.includes(dir)) delete require.cache[k];
    for (const [k, m] of saved) require.cache[k] = m;
  }
}

const promRegistry = new prom.Registry();
const promCounter = new prom.Counter({
  name: 'requests_total',
  help: 'requests',
  registers: [promRegistry],
});
const promCounters = Array.from(
  { length: 8 },
  (_, i) =>
    new prom.Counter({ name: `requests${i}_total`, help: 'requests', registers: [promRegistry] }),
);
const promCounterByRoute = new prom.Counter({
  name: 'requests_by_route_total',
  help: 'requests by route',
  labelNames: ['route'],
  registers: [promRegistry],
});
const promCachedRoute = promCounterByRoute.labels('route3');
const promGauge = new prom.Gauge({
  name: 'queue_length',
  help: 'queue length',
  registers: [promRegistry],
});
const promHistogram = new prom.Histogram({
  name: 'latency',
  help: 'latency',
  buckets: BUCKETS,
  registers: [promRegistry],
});
const promTimer = new prom.Histogram({
  name: 'work_seconds',
  help: 'work',
  registers: [promRegistry],
});

const promSolo = requireFresh('prom-client');
const promSoloRegistry = new promSolo.Registry();
const promSoloCounter = new promSolo.Counter({
  name: 'requests_total',
  help: 'requests',
  registers: [promSoloRegistry],
});
const promSoloHistogram = new promSolo.Histogram({
  name: 'latency',
  help: 'latency',
  buckets: BUCKETS,
  registers: [promSoloRegistry],
});

const promFlushRegistry = new prom.Registry();
const promFlushGauge = new prom.Gauge({
  name: 'values',
  help: 'values',
  labelNames: ['instance'],
  registers: [promFlushRegistry],
});
const promFlushChildren = FLUSH_NAMES.map((n) => promFlushGauge.labels(n));

// ---- OpenTelemetry metrics SDK ---------------------------------------------------------
//
// A MeterProvider with a reader that is never collected during the run: the cost measured is
// the instruments' own, as with the other two.

const otelProvider = new otel.MeterProvider({
  readers: [
    new otel.PeriodicExportingMetricReader({
      exporter: new otel.InMemoryMetricExporter(otel.AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    }),
  ],
});
const meter = otelProvider.getMeter('bench');
const otelCounter = meter.createCounter('requests');
const otelCounterByRoute = meter.createCounter('requests_by_route');
const OTEL_ROUTES = ROUTES.map((route) => ({ route }));
const otelGauge = meter.createGauge('queue_length');
const otelHistogram = meter.createHistogram('latency', {
  advice: { explicitBucketBoundaries: BUCKETS },
});

// ---- baselines -----------------------------------------------------------------------

const plain = new Float64Array(256);
const PLAIN_SLOT = 17;
const plainIndex = new Map(ROUTES.map((r, i) => [r, i]));
const nativeHistogram = createHistogram();

// ---- cases: each owns its loop, so the operation is inlined into it --------------------

let flushRound = 0;
let flushesWritten = 0;

const cases = {
  plainInc: {
    loop: (n) => {
      for (let k = 0; k < n; k++) plain[PLAIN_SLOT]++;
      return plain[PLAIN_SLOT];
    },
  },
  mapLookupInc: {
    loop: (n) => {
      let j = 0;
      for (let k = 0; k < n; k++) {
        plain[plainIndex.get(ROUTES[j])]++;
        j = j === 9 ? 0 : j + 1;
      }
      return plain[0];
    },
  },
  nativeRecord: {
    loop: (n) => {
      for (let k = 0; k < n; k++) nativeHistogram.record(SAMPLE_INTS[k & 1023]);
      return nativeHistogram.count;
    },
  },
  performanceNow: {
    loop: (n) => {
      let t = 0;
      for (let k = 0; k < n; k++) t += performance.now();
      return t;
    },
  },

  counterInc: {
    loop: (n) => {
      for (let k = 0; k < n; k++) counter.inc();
      return counter.value;
    },
  },
  counterIncRotating: {
    loop: (n) => {
      for (let k = 0; k < n; k++) counters[k & 7].inc();
      return counters[0].value;
    },
  },
  counterIncSites: {
    loop: (n) => {
      const [c0, c1, c2, c3, c4, c5, c6, c7] = counters;
      for (let k = 0; k < n; k += 8) {
        c0.inc();
        c1.inc();
        c2.inc();
        c3.inc();
        c4.inc();
        c5.inc();
        c6.inc();
        c7.inc();
      }
      return c7.value;
    },
  },
  cachedInstanceInc: {
    loop: (n) => {
      for (let k = 0; k < n; k++) cachedRoute.inc();
      return cachedRoute.value;
    },
  },
  lookupInc: {
    loop: (n) => {
      let j = 0;
      for (let k = 0; k < n; k++) {
        counterByRoute.instance(ROUTES[j]).inc();
        j = j === 9 ? 0 : j + 1;
      }
      return counterByRoute.instance('route0').value;
    },
  },
  gaugeSet: {
    loop: (n) => {
      for (let k = 0; k < n; k++) gauge.set(k);
      return gauge.value;
    },
  },
  timerRecord: {
    loop: (n) => {
      for (let k = 0; k < n; k++) timer.record(SAMPLES[k & 1023]);
      return timer.total;
    },
  },
  timerStartStop: {
    loop: (n) => {
      let d = 0;
      for (let k = 0; k < n; k++) d += timer.start().stop();
      return d;
    },
  },
  histogramRecord: {
    loop: (n) => {
      for (let k = 0; k < n; k++) histogram.record(SAMPLES[k & 1023]);
      return histogram.sum;
    },
  },
  flush: {
    calls: FLUSHES_PER_ROUND,
    prepare: () => {
      flushRound++;
      for (let k = 0; k < FLUSH_SIZE; k++) flushHandles[k].set(flushRound + k);
    },
    call: () => {
      const wrote = flushing.flush();
      if (wrote) flushesWritten++;
      return wrote;
    },
  },

  promCounterInc: {
    loop: (n) => {
      for (let k = 0; k < n; k++) promCounter.inc();
      return 0;
    },
  },
  promSoloCounterInc: {
    loop: (n) => {
      for (let k = 0; k < n; k++) promSoloCounter.inc();
      return 0;
    },
  },
  promCounterIncRotating: {
    loop: (n) => {
      for (let k = 0; k < n; k++) promCounters[k & 7].inc();
      return 0;
    },
  },
  promCounterIncSites: {
    loop: (n) => {
      const [c0, c1, c2, c3, c4, c5, c6, c7] = promCounters;
      for (let k = 0; k < n; k += 8) {
        c0.inc();
        c1.inc();
        c2.inc();
        c3.inc();
        c4.inc();
        c5.inc();
        c6.inc();
        c7.inc();
      }
      return 0;
    },
  },
  promCachedInc: {
    loop: (n) => {
      for (let k = 0; k < n; k++) promCachedRoute.inc();
      return 0;
    },
  },
  promLabelledInc: {
    loop: (n) => {
      let j = 0;
      for (let k = 0; k < n; k++) {
        promCounterByRoute.inc({ route: ROUTES[j] });
        j = j === 9 ? 0 : j + 1;
      }
      return 0;
    },
  },
  promGaugeSet: {
    loop: (n) => {
      for (let k = 0; k < n; k++) promGauge.set(k);
      return 0;
    },
  },
  promObserve: {
    loop: (n) => {
      for (let k = 0; k < n; k++) promHistogram.observe(SAMPLES[k & 1023]);
      return 0;
    },
  },
  promSoloObserve: {
    loop: (n) => {
      for (let k = 0; k < n; k++) promSoloHistogram.observe(SAMPLES[k & 1023]);
      return 0;
    },
  },
  promStartTimer: {
    loop: (n) => {
      let d = 0;
      for (let k = 0; k < n; k++) d += promTimer.startTimer()();
      return d;
    },
  },
  otelCounterAdd: {
    loop: (n) => {
      for (let k = 0; k < n; k++) otelCounter.add(1);
      return 0;
    },
  },
  otelAttributesAdd: {
    loop: (n) => {
      let j = 0;
      for (let k = 0; k < n; k++) {
        otelCounterByRoute.add(1, OTEL_ROUTES[j]);
        j = j === 9 ? 0 : j + 1;
      }
      return 0;
    },
  },
  otelGaugeRecord: {
    loop: (n) => {
      for (let k = 0; k < n; k++) otelGauge.record(k);
      return 0;
    },
  },
  otelHistogramRecord: {
    loop: (n) => {
      for (let k = 0; k < n; k++) otelHistogram.record(SAMPLES[k & 1023]);
      return 0;
    },
  },
  promMetrics: {
    calls: SCRAPES_PER_ROUND,
    prepare: () => {
      flushRound++;
      for (let k = 0; k < FLUSH_SIZE; k++) promFlushChildren[k].set(flushRound + k);
    },
    call: () => promFlushRegistry.metrics(),
  },
};

/** [label, our case, prom-client's label, its case] */
const ROWS = [
  ['counter inc, singleton', 'counterInc', 'Counter.inc()', 'promCounterInc'],
  ['counter inc, singleton', 'counterInc', 'inc(), only use', 'promSoloCounterInc'],
  ['counter inc, 8 counters by index', 'counterIncRotating', 'same', 'promCounterIncRotating'],
  ['counter inc, 8 call sites', 'counterIncSites', 'same', 'promCounterIncSites'],
  ['counter inc, cached instance handle', 'cachedInstanceInc', 'labels(r).inc()', 'promCachedInc'],
  ['counter inc, lookup by name (10)', 'lookupInc', 'inc({ route })', 'promLabelledInc'],
  ['gauge set', 'gaugeSet', 'Gauge.set(v)', 'promGaugeSet'],
  ['timer record', 'timerRecord', null, null],
  ['timer start/stop', 'timerStartStop', 'Histogram.startTimer()()', 'promStartTimer'],
  ['histogram record (10 buckets, p50/90/99)', 'histogramRecord', 'observe(v)', 'promObserve'],
  [
    'histogram record (10 buckets, p50/90/99)',
    'histogramRecord',
    'observe(v), only use',
    'promSoloObserve',
  ],
  [`flush ${FLUSH_SIZE} changed values`, 'flush', `metrics(), ${FLUSH_SIZE} series`, 'promMetrics'],
];

async function main() {
  const cpus = os.cpus();
  const machine = {
    cpu: cpus.length ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    promClient: require('prom-client/package.json').version,
    otelSdkMetrics: require('@opentelemetry/sdk-metrics/package.json').version,
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
  console.log(`pcp-agent bench: ${machine.cpu} × ${machine.cores}`);
  console.log(
    `Node ${machine.node} (V8 ${machine.v8}), ${machine.platform}, prom-client ${machine.promClient}, @opentelemetry/sdk-metrics ${machine.otelSdkMetrics}, load ${machine.loadavg.join(' ')}`,
  );
  console.log(
    `median of ${ROUNDS.rounds} rounds (~${ROUNDS.roundMs} ms per case, all cases round-robin) after ${ROUNDS.warmup} warm-up rounds\n`,
  );

  const started = Date.now();
  const r = await measureAll(cases, {
    ...ROUNDS,
    onRound: (k, of) => {
      if (process.stderr.isTTY) process.stderr.write(`\rround ${k}/${of}${k === of ? '\n' : ''}`);
    },
  });

  // Read every prom-client value back, so none of its updates can be skipped either.
  for (const reg of [promRegistry, promSoloRegistry]) {
    for (const m of await reg.getMetricsAsJSON()) {
      for (const v of m.values) consume(v.value);
    }
  }

  const ns = (k) => r[k].ns;
  const results = ROWS.map(([label, key, promLabel, promKey]) => ({
    label,
    key,
    ns: ns(key),
    prom: promKey ? { label: promLabel, key: promKey, ns: ns(promKey) } : null,
    promOverOurs: promKey ? ns(promKey) / ns(key) : null,
  }));
  console.log(
    table(
      ['operation', 'pcp-agent', 'prom-client', '', 'prom/ours'],
      results.map((x) => [
        x.label,
        formatTime(x.ns),
        x.prom ? x.prom.label : '—',
        x.prom ? formatTime(x.prom.ns) : '—',
        formatRatio(x.promOverOurs),
      ]),
    ),
  );

  const otelRows = [
    ['counter inc, singleton', 'counterInc', 'Counter.add(1)', 'otelCounterAdd'],
    ['counter inc, lookup by name (10)', 'lookupInc', 'add(1, { route })', 'otelAttributesAdd'],
    ['gauge set', 'gaugeSet', 'Gauge.record(v)', 'otelGaugeRecord'],
    [
      'histogram record (10 buckets, p50/90/99)',
      'histogramRecord',
      'Histogram.record(v)',
      'otelHistogramRecord',
    ],
  ].map(([label, key, otelLabel, otelKey]) => ({
    label,
    key,
    ns: ns(key),
    otel: { label: otelLabel, key: otelKey, ns: ns(otelKey) },
    otelOverOurs: ns(otelKey) / ns(key),
  }));
  console.log(
    `\n${table(
      ['operation', 'pcp-agent', 'OpenTelemetry SDK', '', 'otel/ours'],
      otelRows.map((x) => [
        x.label,
        formatTime(x.ns),
        x.otel.label,
        formatTime(x.otel.ns),
        formatRatio(x.otelOverOurs),
      ]),
    )}`,
  );

  const baselines = [
    [
      'Float64Array a[i]++',
      'plainInc',
      `counter inc / Float64Array = ${formatRatio(ns('counterInc') / ns('plainInc'))}`,
    ],
    [
      'Map.get(name) + a[i]++',
      'mapLookupInc',
      `lookup inc / Map.get = ${formatRatio(ns('lookupInc') / ns('mapLookupInc'))}`,
    ],
    [
      'native RecordableHistogram.record',
      'nativeRecord',
      `histogram record / native record = ${formatRatio(ns('histogramRecord') / ns('nativeRecord'))}`,
    ],
    [
      'performance.now()',
      'performanceNow',
      `timer start/stop / 2 now() = ${formatRatio(ns('timerStartStop') / (2 * ns('performanceNow')))}`,
    ],
  ];
  console.log(
    `\n${table(
      ['baseline', 'ns/op', ''],
      baselines.map(([label, key, note]) => [label, formatTime(ns(key)), note]),
    )}`,
  );

  const ratio = (a, b) => ns(a) / ns(b);
  // A target on the ratio a/b: at most `bound` (≤) or at least (≥).
  const ratioTarget = (target, a, b, op, bound) => {
    const value = ratio(a, b);
    const pass = op === '≤' ? value <= bound : value >= bound;
    return { target, value, shown: `${formatRatio(value)} (${op} ${bound}×)`, pass };
  };
  const targets = [
    ratioTarget(
      'counter inc within 2× of a Float64Array increment',
      'counterInc',
      'plainInc',
      '≤',
      2,
    ),
    ratioTarget(
      'counter inc ≥ 7× faster than prom-client inc()',
      'promCounterInc',
      'counterInc',
      '≥',
      7,
    ),
    ratioTarget(
      '  … its inc() never called with labels in the process',
      'promSoloCounterInc',
      'counterInc',
      '≥',
      7,
    ),
    ratioTarget(
      'update by instance name ≥ 5× faster than prom-client labelled inc',
      'promLabelledInc',
      'lookupInc',
      '≥',
      5,
    ),
    ratioTarget(
      'histogram record ≥ 10× faster than prom-client observe()',
      'promObserve',
      'histogramRecord',
      '≥',
      10,
    ),
    ratioTarget(
      '  … its observe() never called through startTimer() in the process',
      'promSoloObserve',
      'histogramRecord',
      '≥',
      10,
    ),
    {
      target: `flush of ${FLUSH_SIZE} changed values under 50 µs`,
      value: ns('flush') / 1e3,
      shown: `${formatTime(ns('flush'))} (< 50 µs)`,
      pass: ns('flush') < 50e3,
    },
  ];
  console.log(
    `\n${table(
      ['target', 'measured', ''],
      targets.map((t) => [t.target, t.shown, t.pass ? 'PASS' : 'MISS']),
    )}`,
  );
  const flushes = FLUSHES_PER_ROUND * (ROUNDS.rounds + ROUNDS.warmup);
  const elapsed = (Date.now() - started) / 1000;
  console.log(
    `\nflushes that wrote: ${flushesWritten}/${flushes}; checksum ${checksum()}; ${elapsed.toFixed(1)} s`,
  );

  if (json) {
    console.log(
      JSON.stringify(
        {
          machine,
          unit: 'ns per operation (median of rounds)',
          results,
          otel: otelRows,
          baselines: Object.fromEntries(
            baselines.map(([label, key]) => [key, { label, ns: ns(key) }]),
          ),
          targets: targets.map(({ target, value, pass }) => ({ target, value, pass })),
          cases: r,
          flushesWritten,
          checksum: checksum(),
        },
        null,
        2,
      ),
    );
  }
}

main()
  .catch((err) => {
    console.error(err);
  })
  .finally(() => {
    ours.stop();
    flushing.stop();
    otelProvider.shutdown().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exitCode = 0;
  });
