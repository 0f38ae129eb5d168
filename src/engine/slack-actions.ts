/**
 * The contract between Slack's Approve / Reject buttons (built by the Slack notifier) and the
 * interactivity endpoint that receives their clicks.
 */
export const SLACK_ACTIONS = { approve: 'approve', reject: 'reject' } as const;

/** The `value` of an Approve / Reject button for one plan step (well under Slack's 2000 chars). */
export function slackActionValue(incidentId: string, stepId: string): string {
  return JSON.stringify({ incidentId, stepId });
}
