// How the benchmark measures: each case owns its loop (so V8 inlines the operation into it),
// is calibrated to a round length, warmed up, then timed over rounds run round-robin with
// every other case; the median of the rounds counts.

/** Everything a case returns lands here, so no loop is dead code; printed as a checksum. */
let sink = 0;

function consume(x) {
  if (typeof x === 'number' && Number.isFinite(x)) sink = (sink + x) % 1e15;
}

function checksum() {
  return sink;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function timeLoop(run, n) {
  const t0 = process.hrtime.bigint();
  const out = run(n);
  const ns = Number(process.hrtime.bigint() - t0);
  consume(out);
  return ns;
}

/**
 * One call at a time: prepare() (untimed) changes what the call will do, e.g. the values a
 * flush writes. Returns the calls' own time, per call.
 */
async function timeCalls(prepare, call, calls) {
  let total = 0;
  for (let k = 0; k < calls; k++) {
    prepare();
    const t0 = process.hrtime.bigint();
    const out = call();
    const result = out && typeof out.then === 'function' ? await out : out;
    total += Number(process.hrtime.bigint() - t0);
    consume(typeof result === 'string' ? result.length : result ? 1 : 0);
  }
  return total / calls;
}

/**
 * Iterations of `run` that take about `roundMs`: grown until a run is long enough to time,
 * then scaled, twice, since the first runs are not yet optimised.
 */
function calibrate(run, roundMs) {
  const target = roundMs * 1e6;
  let n = 256;
  while (n < 2 ** 30 && timeLoop(run, n) < target / 8) n *= 4;
  for (let k = 0; k < 2; k++) {
    n = Math.max(1, Math.min(2 ** 30, Math.round((n * target) / Math.max(timeLoop(run, n), 1))));
  }
  return n;
}

/**
 * Runs every case once per round, round-robin, starting each round one case further on, so a
 * burst of load from elsewhere (or a GC owed by the case before) spreads over all cases instead
 * of landing on one. A case is `{ loop: (n) => value }`, a function that performs the operation
 * n times in its own loop and returns a value read at the end, or `{ prepare, call, calls }`
 * for operations of microseconds. Returns, per case, ns per operation (median of the rounds).
 */
async function measureAll(cases, { roundMs = 25, rounds = 15, warmup = 3, onRound } = {}) {
  const names = Object.keys(cases);
  const n = {};
  for (const name of names) if (cases[name].loop) n[name] = calibrate(cases[name].loop, roundMs);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(r + j) % names.length];
      const c = cases[name];
      const ns = c.loop
        ? timeLoop(c.loop, n[name]) / n[name]
        : await timeCalls(c.prepare, c.call, c.calls);
      if (r >= warmup) samples[name].push(ns);
    }
    if (onRound) onRound(r + 1, warmup + rounds);
  }
  return Object.fromEntries(
    names.map((name) => [name, summary(samples[name], n[name] ?? cases[name].calls)]),
  );
}

function summary(samples, n) {
  return {
    ns: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    opsPerRound: n,
    rounds: samples.length,
  };
}

function formatTime(ns) {
  if (ns === undefined || ns === null) return '—';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns >= 100) return `${ns.toFixed(0)} ns`;
  if (ns >= 10) return `${ns.toFixed(1)} ns`;
  return `${ns.toFixed(2)} ns`;
}

function formatRatio(r) {
  if (r === undefined || r === null || !Number.isFinite(r)) return '—';
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`;
}

/** A plain-text table; columns after the first are right-aligned. */
function table(header, rows) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) =>
    cells
      .map((cell, c) =>
        c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]),
      )
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

module.exports = {
  checksum,
  consume,
  formatRatio,
  formatTime,
  measureAll,
  median,
  table,
};
