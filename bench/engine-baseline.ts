/**
 * The engine bench's baseline: the payment runbook's (scripts/harness/fixtures/payment-runbook.ts)
 * interpret expressions and decision rules written by hand in plain JS — the physical limit of
 * one judge × 5 + decide. It builds the same verdict objects as `judge` (step id, status, the
 * matched level and its expression, the facts, the duration) and the decision's outcome: the
 * remediations in rule order, the rules that held, whether `otherwise` applied. It knows only
 * this runbook and trusts the facts' shapes (no CEL errors to catch, no rationale values).
 * bench/engine.ts checks it against the engine before timing either.
 */
import { paymentRunbook } from '../scripts/harness/fixtures/payment-runbook.ts';
import type { Facts, InterpretLevel, Verdict, VerdictStatus } from '../src/engine/types.ts';

/** What one hand-written op produces, and what the engine's is compared on. */
export interface HandOutcome {
  verdicts: Record<string, Verdict>;
  decision: { remediations: string[]; matchedRules: number[]; otherwiseApplied: boolean };
}

/** Each step's interpret sources, so a verdict names the expression that matched, as judge's does. */
const SOURCES = Object.fromEntries(paymentRunbook.diagnostics.map((d) => [d.id, d.interpret])) as Record<
  string,
  Partial<Record<InterpretLevel, string>>
>;

const FIVE_MINUTES_MS = 5 * 60_000;
const THIRTY_MINUTES_MS = 30 * 60_000;

interface Sample {
  value: number;
}
interface Condition {
  type: string;
  lastUpdateTime: string;
}
interface Check {
  status: number;
}

function verdict(stepId: string, status: VerdictStatus, facts: Facts, durationMs: number): Verdict {
  if (status === 'critical' || status === 'warning' || status === 'healthy')
    return {
      stepId,
      status,
      matched: { level: status, expression: SOURCES[stepId]![status]! },
      facts,
      durationMs,
    };
  return { stepId, status, facts, message: 'no interpret expression matched', durationMs };
}

function podHealth(f: Facts): VerdictStatus {
  const values = f.values as Sample[];
  if (f.empty === true || values.every((s) => s.value === 0)) return 'critical';
  if (values.some((s) => s.value === 0)) return 'warning';
  if (values.every((s) => s.value === 1)) return 'healthy';
  return 'unknown';
}

function thresholds(value: number, critical: number, warning: number): VerdictStatus {
  if (value >= critical) return 'critical';
  if (value >= warning) return 'warning';
  return 'healthy';
}

function recentDeploy(f: Facts, nowMs: number): VerdictStatus {
  if (f.exit_code !== 0) return 'unknown';
  // The youngest Progressing condition decides both levels: each time is parsed once.
  let youngestMs = Number.POSITIVE_INFINITY;
  for (const c of (f.json as { status: { conditions: Condition[] } }).status.conditions)
    if (c.type === 'Progressing') youngestMs = Math.min(youngestMs, nowMs - Date.parse(c.lastUpdateTime));
  if (youngestMs < FIVE_MINUTES_MS) return 'critical';
  if (youngestMs < THIRTY_MINUTES_MS) return 'warning';
  return 'healthy';
}

function downstream(f: Facts): VerdictStatus {
  if (f.any_unreachable === true || (f.checks as Check[]).some((c) => c.status >= 500)) return 'critical';
  const minCertDays = f.min_cert_days as number | null;
  if (f.all_healthy !== true || (f.slow_count as number) > 0 || (minCertDays !== null && minCertDays < 14))
    return 'warning';
  return f.all_healthy === true ? 'healthy' : 'unknown';
}

/** judge × 5 and decide for the payment runbook, by hand. */
export function handJudgeDecide(facts: Record<string, Facts>, durationMs: number, now: Date): HandOutcome {
  const pod = podHealth(facts.check_pod_health!);
  const db = thresholds(facts.check_db_connections!.value as number, 90, 70);
  const errors = thresholds(facts.check_error_rate!.value as number, 5, 1);
  const deploy = recentDeploy(facts.check_recent_deploy!, now.getTime());
  const down = downstream(facts.check_downstream!);
  const verdicts: Record<string, Verdict> = {
    check_pod_health: verdict('check_pod_health', pod, facts.check_pod_health!, durationMs),
    check_db_connections: verdict('check_db_connections', db, facts.check_db_connections!, durationMs),
    check_error_rate: verdict('check_error_rate', errors, facts.check_error_rate!, durationMs),
    check_recent_deploy: verdict('check_recent_deploy', deploy, facts.check_recent_deploy!, durationMs),
    check_downstream: verdict('check_downstream', down, facts.check_downstream!, durationMs),
  };
  const remediations: string[] = [];
  const matchedRules: number[] = [];
  if (db === 'critical') {
    remediations.push('kill_idle_connections', 'scale_db_connections');
    matchedRules.push(0);
  }
  if (deploy === 'critical' || deploy === 'warning') {
    remediations.push('rollback_deployment');
    matchedRules.push(1);
  }
  if (pod === 'critical') {
    remediations.push('restart_pods', 'escalate_infra');
    matchedRules.push(2);
  }
  if (down === 'critical') {
    remediations.push('enable_circuit_breaker', 'notify_downstream');
    matchedRules.push(3);
  }
  if (errors === 'critical' && db !== 'critical' && pod !== 'critical' && down !== 'critical') {
    remediations.push('capture_error_samples', 'escalate_oncall');
    matchedRules.push(4);
  }
  return { verdicts, decision: { remediations, matchedRules, otherwiseApplied: false } };
}
