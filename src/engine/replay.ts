import { InvalidOperationError } from '../errors.ts';
import type { CompiledRunbook } from './compile.ts';
import { decide, planRemediations } from './decide.ts';
import { errorVerdict, judge, overallStatus } from './judge.ts';
import type { Runbook } from './runbook-schema.ts';
import type { RunbookTestCase } from './runbook-test.ts';
import type { Incident, PlanStep, TimelineEvent, Verdict, VerdictStatus } from './types.ts';

/**
 * Replay: an incident's recorded evidence (the facts each diagnostic found) run again through a
 * runbook, offline. `testCaseFromIncident` writes the incident as a runbook test case (what was
 * found → what was decided), `replayIncident` says what the runbook decides now from the same
 * facts and how that differs from what happened. Both read the incident as recorded; neither
 * runs a check.
 */

/** What an incident's decision came to, in the terms of a runbook test's `expect`. */
export interface ReplayOutcome {
  /** By diagnostic id. */
  verdicts: Record<string, VerdictStatus>;
  overall: VerdictStatus | null;
  /** In decision order. */
  remediations: string[];
  /** The plan steps that need approval, in plan order. */
  approvals: string[];
  /** The plan has an escalate step. */
  escalate: boolean;
}

/** One way the current runbook decides otherwise, in words (`recorded` and `current` are shown as they are). */
export interface ReplayDifference {
  what: string;
  recorded: string;
  current: string;
}

export interface Replay {
  incidentId: string;
  runbookId: string;
  /** The `now` of the replay: when the decision was made (or the incident opened). */
  now: string;
  recorded: ReplayOutcome;
  current: ReplayOutcome;
  differences: ReplayDifference[];
  /** Where a test case saved from the incident may decide otherwise than this replay. */
  caveats: string[];
}

/** The error of a step that has no recorded verdict: the runbook did not have it then. */
const NOT_RECORDED = 'no verdict was recorded: the runbook had no such diagnostic then';

/** When the incident was decided: its `decision.made` event, if the timeline holds it. */
export function decidedAt(timeline: readonly TimelineEvent[]): string | undefined {
  return timeline.find((e) => e.type === 'decision.made')?.at;
}

/** What was recorded: the verdicts, overall status and plan of a decided incident. */
export function recordedOutcome(incident: Incident): ReplayOutcome {
  const decision = requireDecision(incident);
  const verdicts: Record<string, VerdictStatus> = {};
  for (const [id, v] of Object.entries(incident.verdicts)) verdicts[id] = v.status;
  return {
    verdicts,
    overall: incident.overall ?? null,
    remediations: [...decision.remediations],
    ...planOutcome(incident.plan),
  };
}

/**
 * The incident as a runbook test case for `runbook`: the recorded alert, each diagnostic's recorded
 * facts (an executor's `error` as the error, an `unknown` verdict as a forced `unknown`), and the
 * recorded decision as what to expect. A diagnostic the runbook has but the incident never ran is
 * an error, as the decision treats a missing verdict; one the runbook no longer has is left out.
 * `decided` is when the decision was made (`decidedAt`); the incident's opening time otherwise.
 * The incident must have been decided (else InvalidOperationError).
 */
export function testCaseFromIncident(
  incident: Incident,
  runbook: Runbook,
  decided?: string,
): RunbookTestCase {
  const recorded = recordedOutcome(incident);
  const diagnostics: RunbookTestCase['diagnostics'] = {};
  const verdicts: Record<string, VerdictStatus> = {};
  for (const { id } of runbook.diagnostics) {
    const verdict = incident.verdicts[id];
    if (!verdict) {
      diagnostics[id] = { error: NOT_RECORDED };
      continue;
    }
    verdicts[id] = verdict.status;
    if (verdict.status === 'error') diagnostics[id] = { error: verdict.message || 'the check failed' };
    else if (verdict.status === 'unknown')
      diagnostics[id] = {
        verdict: 'unknown',
        ...(Object.keys(verdict.facts).length > 0 ? { facts: verdict.facts } : {}),
      };
    else diagnostics[id] = { facts: verdict.facts };
  }
  const { alert } = incident;
  const alertname = alert.labels.alertname ?? incident.runbookId;
  return {
    name: `replay of ${incident.id} (${alertname}, ${incident.createdAt.slice(0, 10)})`,
    now: decided ?? incident.createdAt,
    alert: {
      status: alert.status,
      labels: { ...alert.labels },
      annotations: { ...alert.annotations },
    },
    diagnostics,
    expect: {
      verdicts,
      ...(recorded.overall === null ? {} : { overall: recorded.overall }),
      remediations: recorded.remediations,
      approvals: recorded.approvals,
      escalate: recorded.escalate,
    },
  };
}

/**
 * What `compiled` decides now from the incident's recorded facts — each step judged at the time
 * of the decision, then the decision tree and the plan — beside what was recorded, and every
 * difference in words. The incident must have been decided (else InvalidOperationError).
 */
export function replayIncident(incident: Incident, compiled: CompiledRunbook, decided?: string): Replay {
  const recorded = recordedOutcome(incident);
  const now = decided ?? incident.createdAt;
  const at = new Date(now);
  const { runbook } = compiled;
  const verdicts: Record<string, Verdict> = {};
  for (const { id } of runbook.diagnostics)
    verdicts[id] = replayVerdict(compiled, incident.verdicts[id], id, at);
  const decision = decide(compiled, {
    verdicts,
    alert: incident.alert,
    incident: {
      id: incident.id,
      severity: incident.severity,
      service: incident.service,
      createdAt: incident.createdAt,
    },
    now: at,
  });
  const current: ReplayOutcome = {
    verdicts: Object.fromEntries(Object.values(verdicts).map((v) => [v.stepId, v.status])),
    overall: overallStatus(Object.values(verdicts)),
    remediations: decision.remediations,
    ...planOutcome(planRemediations(runbook, decision)),
  };
  return {
    incidentId: incident.id,
    runbookId: runbook.id,
    now,
    recorded,
    current,
    differences: differencesOf(runbook, recorded, current),
    caveats: caveatsOf(compiled),
  };
}

function requireDecision(incident: Incident) {
  if (!incident.decision)
    throw new InvalidOperationError(
      `incident '${incident.id}' has not been decided yet: there is nothing to replay until every diagnostic is in`,
    );
  return incident.decision;
}

/** A recorded verdict as the current runbook sees it: facts judged again, errors and unknowns kept. */
function replayVerdict(
  compiled: CompiledRunbook,
  recorded: Verdict | undefined,
  id: string,
  at: Date,
): Verdict {
  if (!recorded) return errorVerdict(id, NOT_RECORDED);
  if (recorded.status === 'error') return errorVerdict(id, recorded.message || 'the check failed');
  if (recorded.status === 'unknown') return { stepId: id, status: 'unknown', facts: recorded.facts };
  return judge(compiled, id, recorded.facts, undefined, at);
}

function planOutcome(plan: readonly PlanStep[]): Pick<ReplayOutcome, 'approvals' | 'escalate'> {
  return {
    approvals: plan.filter((s) => s.kind === 'approval').map((s) => s.stepId),
    escalate: plan.some((s) => s.kind === 'escalate'),
  };
}

const list = (ids: readonly string[]) => (ids.length > 0 ? ids.join(', ') : 'none');
const yesNo = (b: boolean) => (b ? 'yes' : 'no');

function differencesOf(
  runbook: Runbook,
  recorded: ReplayOutcome,
  current: ReplayOutcome,
): ReplayDifference[] {
  const out: ReplayDifference[] = [];
  const names = new Map(runbook.diagnostics.map((d) => [d.id, d.name]));
  const stepIds = [...new Set([...runbook.diagnostics.map((d) => d.id), ...Object.keys(recorded.verdicts)])];
  for (const id of stepIds) {
    const was = recorded.verdicts[id];
    const now = current.verdicts[id];
    if (was === now) continue;
    const name = names.get(id);
    out.push({
      what: `verdict of ${name ? `${name} (${id})` : id}`,
      recorded: was ?? 'not run: the runbook had no such diagnostic then',
      current: now ?? 'not run: the runbook has no such diagnostic now',
    });
  }
  if (recorded.overall !== current.overall)
    out.push({
      what: 'overall status',
      recorded: recorded.overall ?? 'none',
      current: current.overall ?? 'none',
    });
  if (recorded.remediations.join('\n') !== current.remediations.join('\n'))
    out.push({
      what: 'remediations',
      recorded: list(recorded.remediations),
      current: list(current.remediations),
    });
  // Approvals are a set, as a runbook test compares them.
  if ([...recorded.approvals].sort().join('\n') !== [...current.approvals].sort().join('\n'))
    out.push({
      what: 'steps that need approval',
      recorded: list(recorded.approvals),
      current: list(current.approvals),
    });
  if (recorded.escalate !== current.escalate)
    out.push({
      what: 'escalate step in the plan',
      recorded: yesNo(recorded.escalate),
      current: yesNo(current.escalate),
    });
  return out;
}

/**
 * A runbook test runs its case as incident `test` opened at `now` by a `manual` alert: a rule that
 * reads the incident or the alert's source may decide otherwise there than in this replay.
 */
function caveatsOf(compiled: CompiledRunbook): string[] {
  const out: string[] = [];
  compiled.conditions.forEach((condition, i) => {
    const reads = (condition?.reads ?? []).filter((r) => r.startsWith('incident') || r === 'alert.source');
    if (reads.length > 0)
      out.push(
        `rule ${i + 1} reads ${reads.join(', ')}: a runbook test runs as incident 'test', opened at its 'now' ` +
          'by a manual alert, so the saved case may decide otherwise than this replay',
      );
  });
  return out;
}
