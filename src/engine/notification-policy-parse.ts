import { parse as parseYaml } from 'yaml';
import { type NotificationPolicy, NotificationPolicySchema } from './notification-policy.ts';
import { formatIssuePath } from './runbook-parse.ts';
import { validateSchema } from './schema-issues.ts';

/**
 * Reads a global policy as written in an environment variable: a JSON object (YAML flow works too),
 * `{"opened": [], "escalated": ["escalation", "pagerduty:sre"]}`. Returns the policy, or what is
 * wrong with it, each problem naming its event (`opened[0]: …`).
 */
export function parseNotificationPolicy(text: string): NotificationPolicy | { problems: string[] } {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    // A syntax error is the answer here, not a failure: it is reported as the variable's problem.
    return { problems: [`not a JSON object: ${(err as Error).message.split('\n', 1)[0]}`] };
  }
  const checked = validateSchema(NotificationPolicySchema, data ?? null);
  if (checked.ok) return checked.value;
  return {
    problems: checked.issues.map((i) =>
      i.path.length ? `${formatIssuePath(i.path)}: ${i.message}` : i.message,
    ),
  };
}
