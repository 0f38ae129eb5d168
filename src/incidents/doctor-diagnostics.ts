import { performance } from 'node:perf_hooks';
import { findProgram } from '../adapters/probes.ts';
import { runbookNeeds } from '../engine/runbook-needs.ts';
import type { DiagnosticStep } from '../engine/runbook-schema.ts';
import { renderDiagnosticConfig, templateContext } from '../engine/template.ts';
import type { Alert, Facts } from '../engine/types.ts';
import { AdapterError } from '../errors.ts';
import { configured, wiring } from './doctor-connections.ts';
import { check, type DoctorCheck, type DoctorSources, messageOf, type Probe } from './doctor-report.ts';
import { type DoctorRunbook, placeOf } from './doctor-runbooks.ts';

/**
 * One check per diagnostic of every runbook: its config rendered for the runbook's example alert
 * (the labels of its test file) and run once through its own executor, as an alert would run it.
 * Queries only: a `shell_command` is looked up on the PATH, never run (doctor cannot tell that a
 * command only reads), and an `http_check` that POSTs is not sent.
 */

export function diagnosticChecks(sources: DoctorSources): Probe[] {
  return sources.runbooks.flatMap((runbook) =>
    runbook.compiled.runbook.diagnostics.map(
      (step, index) => (signal: AbortSignal) => probeDiagnostic(runbook, step, index, sources, signal),
    ),
  );
}

/** The example alert of a runbook: its first alert trigger's name plus the test file's labels. */
function exampleAlert(runbook: DoctorRunbook, now: Date): Alert {
  const trigger = runbook.compiled.runbook.triggers.find((t) => t.type === 'alert');
  return {
    source: 'manual',
    status: 'firing',
    labels: { ...(trigger ? { alertname: trigger.alertName } : {}), ...runbook.example?.labels },
    annotations: { ...runbook.example?.annotations },
    fingerprint: 'fireline-doctor',
    startsAt: now.toISOString(),
  };
}

async function probeDiagnostic(
  runbook: DoctorRunbook,
  step: DiagnosticStep,
  index: number,
  sources: DoctorSources,
  signal: AbortSignal,
): Promise<DoctorCheck> {
  const { runbook: rb } = runbook.compiled;
  const at = ['diagnostics', index];
  const stepAt = placeOf(runbook, at);
  const base = {
    id: `diagnostic.${rb.id}.${step.id}`,
    group: 'diagnostics' as const,
    title: `${rb.name} › ${step.name}`,
    runbooks: [rb.id],
  };
  const need = runbookNeeds(rb).find((n) => n.path.join('.') === at.join('.'));
  const wired = need ? wiring(need, sources.configFile) : undefined;
  if (need && wired && !configured(need, sources.connections))
    return check({
      ...base,
      status: 'skip',
      detail: `not wired: ${wired.title} is not configured, so this check reports "error" on every incident`,
      fix: wired.fix,
      missing: true,
    });
  if (step.type === 'shell_command') {
    const program = step.config.command[0]!;
    const found = await findProgram(program);
    return found
      ? check({
          ...base,
          status: 'skip',
          detail: `not run: doctor runs no commands (${program} found at ${found})`,
        })
      : check({
          ...base,
          status: 'fail',
          detail: `${program} is not on Fireline's PATH: this check reports "error" on every incident`,
          fix: `install ${program} on Fireline's PATH, or change the command at ${stepAt}`,
          missing: true,
        });
  }
  if (step.type === 'http_check' && step.config.urls.some((u) => u.method === 'POST'))
    return check({
      ...base,
      status: 'skip',
      detail: 'not run: it POSTs, and doctor sends nothing that may change a thing',
    });

  const now = (sources.now ?? (() => new Date()))();
  const ctx = templateContext(exampleAlert(runbook, now), {
    id: 'fireline-doctor',
    severity: rb.severity,
    service: rb.service,
    runbookId: rb.id,
  });
  const rendered = renderDiagnosticConfig(step, ctx);
  if (!rendered.ok) {
    const testFile = runbook.example?.file ?? `a ${rb.id}.test.yaml beside the runbook`;
    return check({
      ...base,
      status: 'skip',
      detail: `no example values to run it with: ${rendered.reason}`,
      fix: `add a case with alert.labels to ${testFile}`,
    });
  }
  const started = performance.now();
  const timeoutMs = Math.min(step.timeout * 1000, sources.probeTimeoutMs ?? 10_000);
  try {
    const facts = await sources.diagnostics.run(step.type, rendered.config, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      timeoutMs,
    });
    const ms = Math.round(performance.now() - started);
    const labels = runbook.example ? ` with the example labels of ${runbook.example.file}` : '';
    return check({ ...base, status: 'ok', detail: `ran in ${ms} ms${labels}: ${summary(facts)}` });
  } catch (err) {
    if (!(err instanceof AdapterError)) throw err;
    return check({
      ...base,
      status: 'fail',
      detail: messageOf(err),
      fix: wired ? `${wired.fix}, or the step at ${stepAt}` : `the step at ${stepAt}`,
    });
  }
}

/** The first few plain facts, `value=0.97, count=1`, for a check's detail. */
function summary(facts: Facts): string {
  const shown = Object.entries(facts)
    .filter(
      ([, v]) =>
        v === null || ['number', 'boolean'].includes(typeof v) || (typeof v === 'string' && v.length <= 40),
    )
    .slice(0, 4)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  return shown.join(', ') || 'facts without a plain value';
}
