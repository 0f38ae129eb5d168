import type { Context, SpanOptions } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Telemetry } from 'bullmq';
import type { BullMQOTelSpan as SpanWrapper } from 'bullmq-otel';
import type { Logger } from '../logger.ts';

/** The tracer name of Fireline's own spans and of the BullMQ spans. */
export const TRACER_NAME = 'fireline';

/** Span attribute names Fireline sets (ids only: never alert labels, payloads or facts). */
export const SPAN_ATTRIBUTES = {
  incidentId: 'incident.id',
  runbookId: 'runbook.id',
  stepId: 'step.id',
} as const;

/**
 * BullMQ puts a completed job's return value on its `process` span. A diagnose job returns its
 * verdict with the facts it read (query results, log lines, rows): that must not leave the process.
 */
const JOB_RESULT_ATTRIBUTE = 'bullmq.job.result';

/** What the process holds while tracing runs. */
export interface RunningTelemetry {
  /** For every Queue, FlowProducer and Worker; absent when tracing is off. */
  bullmqTelemetry?: Telemetry;
  /** Exports the spans still buffered and unregisters the SDK; idempotent. */
  shutdown(): Promise<void>;
}

/** The settings tracing reads (FIRELINE_OTEL and OTEL_SERVICE_NAME of src/config.ts). */
export interface TelemetrySettings {
  FIRELINE_OTEL: 'off' | 'otlp' | 'console';
  OTEL_SERVICE_NAME: string;
}

export interface TelemetryOptions {
  /** Replaces the exporter FIRELINE_OTEL names; each span is handed to it as it ends (tests). */
  exporter?: SpanExporter;
}

/**
 * Starts OpenTelemetry tracing as FIRELINE_OTEL says. `off` (the default) imports no SDK module
 * at all, so it costs nothing; otherwise a global tracer provider (AsyncLocalStorage context, W3C
 * trace-context propagation) is registered and a BullMQ telemetry is returned whose job metadata
 * carries the context from producer to worker, so one alert makes one trace.
 */
export async function startTelemetry(
  config: TelemetrySettings,
  logger: Logger,
  opts: TelemetryOptions = {},
): Promise<RunningTelemetry> {
  if (config.FIRELINE_OTEL === 'off') return { shutdown: async () => {} };
  // Loaded here, never at the top: with tracing off none of these modules is read.
  const [api, sdk, { resourceFromAttributes }, { ATTR_SERVICE_NAME }, { BullMQOtel, BullMQOTelSpan }] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/semantic-conventions'),
      import('bullmq-otel'),
    ]);
  let processor: SpanProcessor;
  if (opts.exporter) processor = new sdk.SimpleSpanProcessor(opts.exporter);
  else if (config.FIRELINE_OTEL === 'console')
    processor = new sdk.SimpleSpanProcessor(new sdk.ConsoleSpanExporter());
  else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    // No URL given: the exporter honours OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then
    // OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), then http://localhost:4318/v1/traces.
    processor = new sdk.BatchSpanProcessor(new OTLPTraceExporter());
  }
  const provider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME }),
    spanProcessors: [processor],
  });
  provider.register();
  // Export failures (collector down, bad endpoint) are reported through OTel's diag channel,
  // silent unless a logger is set: send its warnings and errors to ours.
  const log = logger.child({ component: 'otel' });
  const warn = (message: string, ...args: unknown[]) =>
    log.warn({ detail: args.map((a) => (a instanceof Error ? a.message : String(a))) }, message);
  const ignore = () => {};
  api.diag.setLogger(
    { error: warn, warn, info: ignore, debug: ignore, verbose: ignore },
    api.DiagLogLevel.WARN,
  );
  const tracer = api.trace.getTracer(TRACER_NAME);

  class WithoutJobResult extends BullMQOTelSpan {
    override addEvent(...[name, attributes, time]: Parameters<SpanWrapper['addEvent']>) {
      if (attributes && JOB_RESULT_ATTRIBUTE in attributes) {
        const { [JOB_RESULT_ATTRIBUTE]: _result, ...rest } = attributes;
        super.addEvent(name, rest, time);
      } else super.addEvent(name, attributes, time);
    }
  }
  const bullmqTelemetry: Telemetry<Context> = {
    // bullmq-otel's context manager: W3C metadata on each job, read back by the worker.
    contextManager: new BullMQOtel({ tracerName: TRACER_NAME }).contextManager,
    tracer: {
      // BullMQ's SpanKind has OpenTelemetry's numbering (bullmq-otel passes it through the same way).
      startSpan: (name, options, ctx) =>
        new WithoutJobResult(tracer.startSpan(name, options as SpanOptions | undefined, ctx)),
    },
  };
  logger.info(
    { exporter: opts.exporter ? 'custom' : config.FIRELINE_OTEL, serviceName: config.OTEL_SERVICE_NAME },
    'OpenTelemetry tracing on',
  );
  let stopping: Promise<void> | undefined;
  return {
    bullmqTelemetry,
    shutdown() {
      stopping ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          // Unregistered so a later start in the same process (tests, a restart) registers afresh.
          api.trace.disable();
          api.context.disable();
          api.propagation.disable();
          api.diag.disable();
        }
      })();
      return stopping;
    },
  };
}
