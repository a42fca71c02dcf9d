// Preloaded (`--require`) by the HTTP benchmarks' OpenTelemetry variant: the http
// instrumentation recording its server metrics into an SDK MeterProvider, as an app using
// OpenTelemetry for metrics would set it up. No tracer provider: spans are not recorded, so
// the cost is the instrumentation's and the metrics', not a trace exporter's.

const { metrics } = require('@opentelemetry/api');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const otel = require('@opentelemetry/sdk-metrics');

const provider = new otel.MeterProvider({
  readers: [
    new otel.PeriodicExportingMetricReader({
      exporter: new otel.InMemoryMetricExporter(otel.AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 1000,
    }),
  ],
});
metrics.setGlobalMeterProvider(provider);
registerInstrumentations({
  instrumentations: [new HttpInstrumentation()],
  meterProvider: provider,
});
