/**
 * In-process lower bound: the original design's executor (`executeDiagnostics` in the seed: every
 * diagnostic with `Promise.allSettled` inside the HTTP request, then the decision tree) on the same
 * 5-diagnostic runbook as the pipeline overhead bench, with Fireline's real parts — templates
 * rendered per step, `createDiagnosticRegistry().run` (the real http_check executor) under the
 * step timeout, `judge`, `decide` and `planRemediations` — and no Redis, no queues, no store.
 *
 * (a) latency: per incident, start → decision, one at a time after a warm-up (like the pipeline
 *     bench's overhead phase);
 * (b) throughput: THROUGHPUT_INCIDENTS incidents, CONCURRENCY in flight (incidents/s, start →
 *     decision latency under that load, CPU per incident of this process, which also hosts the
 *     loopback server — as in the pipeline bench). In the seed the HTTP request waited for all of
 *     this, so (b) is also what its alert endpoint could answer at best.
 *
 * Prints one JSON object on stdout, progress on stderr. `npm run bench:in-process`.
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { createDiagnosticRegistry, type DiagnosticRegistry } from '../src/adapters/diagnostics/registry.ts';
import type { CompiledRunbook } from '../src/engine/compile.ts';
import { decide, planRemediations } from '../src/engine/decide.ts';
import { errorVerdict, judge } from '../src/engine/judge.ts';
import { renderDiagnosticConfig, templateContext } from '../src/engine/template.ts';
import type { Alert, Verdict } from '../src/engine/types.ts';
import { benchAlert, compileFiveChecks, FIVE_CHECKS } from './five-checks.ts';
import {
  countingHttpServer,
  deadline,
  latencySummary,
  progress,
  round,
  runLimited,
  sampleRss,
} from './lib.ts';

const WARMUP = 50;
const N = 300;
const THROUGHPUT_INCIDENTS = 2000;
const CONCURRENCY = 50;
/** The whole run ends within a minute even on a loaded machine. */
const RUN_DEADLINE_MS = 60_000;

/**
 * One incident the original way: all diagnostics at once with `Promise.allSettled`, a rejected
 * one becoming an `error` verdict, then the decision and its plan. Returns the plan's step ids.
 */
async function handleIncident(
  compiled: CompiledRunbook,
  registry: DiagnosticRegistry,
  a: Alert,
  id: string,
): Promise<string[]> {
  const runbook = compiled.runbook;
  const incident = {
    id,
    severity: runbook.severity,
    service: runbook.service,
    createdAt: new Date().toISOString(),
  };
  const ctx = templateContext(a, { ...incident, runbookId: runbook.id });
  const settled = await Promise.allSettled(
    runbook.diagnostics.map(async (step) => {
      const rendered = renderDiagnosticConfig(step, ctx);
      if (!rendered.ok) throw new Error(`template ${rendered.path.join('.')}: ${rendered.reason}`);
      const started = performance.now();
      const timeoutMs = step.timeout * 1000;
      const facts = await registry.run(step.type, rendered.config, {
        signal: AbortSignal.timeout(timeoutMs),
        timeoutMs,
      });
      return judge(compiled, step.id, facts, Math.round(performance.now() - started), new Date());
    }),
  );
  const verdicts: Record<string, Verdict> = {};
  settled.forEach((s, i) => {
    const stepId = runbook.diagnostics[i]!.id;
    verdicts[stepId] = s.status === 'fulfilled' ? s.value : errorVerdict(stepId, String(s.reason), 0);
  });
  const unhealthy = Object.values(verdicts).filter((v) => v.status !== 'healthy');
  if (unhealthy.length > 0)
    throw new Error(
      `incident ${id}: expected every verdict healthy, saw ${unhealthy.map((v) => `${v.stepId}=${v.status} ${v.message ?? ''}`).join('; ')}`,
    );
  const decision = decide(compiled, { verdicts, alert: a, incident, now: new Date() });
  return planRemediations(runbook, decision).map((step) => step.stepId);
}

async function main(): Promise<number> {
  const server = await countingHttpServer();
  try {
    const compiled = compileFiveChecks(server.url);
    const registry = createDiagnosticRegistry();
    const expectPlan = (plan: string[], id: string) => {
      if (plan.join(',') !== 'look') throw new Error(`incident ${id}: expected plan [look], saw [${plan}]`);
    };

    progress(`in-process latency: ${WARMUP} warm-up + ${N}, one at a time`);
    const latencies: number[] = [];
    let cpu0 = process.cpuUsage();
    for (let i = 0; i < WARMUP + N; i++) {
      if (i === WARMUP) cpu0 = process.cpuUsage();
      const id = `inproc-${i}`;
      const t0 = performance.now();
      expectPlan(await handleIncident(compiled, registry, benchAlert(`o${i}`, `latency-${i}`), id), id);
      if (i >= WARMUP) latencies.push(performance.now() - t0);
    }
    const latencyCpu = process.cpuUsage(cpu0);
    const latencyRequests = server.count();

    progress(`in-process throughput: ${THROUGHPUT_INCIDENTS} incidents, ${CONCURRENCY} in flight`);
    server.reset();
    const rss = sampleRss(50);
    const cpu1 = process.cpuUsage();
    const t0 = performance.now();
    const ids = Array.from({ length: THROUGHPUT_INCIDENTS }, (_, i) => i);
    const loaded: number[] = [];
    await runLimited(ids, CONCURRENCY, async (i) => {
      const id = `inproc-t${i}`;
      const start = performance.now();
      expectPlan(await handleIncident(compiled, registry, benchAlert(`t${i}`, `throughput-${i}`), id), id);
      loaded.push(performance.now() - start);
    });
    const elapsedMs = performance.now() - t0;
    const throughputCpu = process.cpuUsage(cpu1);
    const { peakMb } = rss.stop();
    const requests = server.count();
    if (requests !== THROUGHPUT_INCIDENTS * FIVE_CHECKS)
      throw new Error(`expected ${THROUGHPUT_INCIDENTS * FIVE_CHECKS} diagnostic requests, saw ${requests}`);

    const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
    const latency = latencySummary(latencies);
    const result = {
      benchmark: 'in-process',
      design: 'seed executeDiagnostics: Promise.allSettled over the diagnostics, then decide, in one process',
      diagnostics: FIVE_CHECKS,
      latency: {
        ...latency,
        warmup: WARMUP,
        cpuMsPerIncident: round(cpuMs(latencyCpu) / N, 3),
        httpRequests: latencyRequests,
      },
      throughput: {
        incidents: THROUGHPUT_INCIDENTS,
        concurrency: CONCURRENCY,
        incidentsPerSec: round(THROUGHPUT_INCIDENTS / (elapsedMs / 1000), 1),
        elapsedMs: Math.round(elapsedMs),
        cpuMsPerIncident: round(cpuMs(throughputCpu) / THROUGHPUT_INCIDENTS, 3),
        cpuShare: round(cpuMs(throughputCpu) / elapsedMs),
        /** Start → decision with CONCURRENCY in flight: the seed's request latency under load. */
        latencyUnderLoad: latencySummary(loaded),
        peakRssMb: peakMb,
        httpRequests: requests,
      },
      loadavg: os.loadavg().map((x) => round(x)),
      node: process.version,
    };
    process.stderr.write(
      [
        '',
        `in-process: start → decision p50 / p99 ${latency.p50Ms} / ${latency.p99Ms} ms (n=${latency.n})`,
        `            ${result.throughput.incidentsPerSec} incidents/s at ${CONCURRENCY} in flight, ${result.throughput.cpuMsPerIncident} CPU ms / incident, peak RSS ${peakMb} MB`,
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await server.close();
  }
}

Promise.race([main(), deadline(RUN_DEADLINE_MS, 'the in-process benchmark')]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
