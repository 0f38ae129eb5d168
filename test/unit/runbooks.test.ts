import { describe, expect, it } from 'vitest';
import { requireRunbooks } from '../../src/adapters/runbook-files.ts';
import { RunbookValidationError } from '../../src/errors.ts';

describe('requireRunbooks', () => {
  it('refuses a set with errors, naming each issue with its file and line', async () => {
    const outcome = await requireRunbooks(['test/fixtures/seed-payment-runbook.yaml']).then(
      (runbooks) => ({ loaded: runbooks.map((r) => r.runbook.id) }),
      (err: unknown) => err,
    );
    if (!(outcome instanceof RunbookValidationError))
      throw new Error(`expected a RunbookValidationError, got ${JSON.stringify(outcome)}`);
    const unknownRemediations = outcome.issues
      .filter((i) => i.message.startsWith('unknown remediation'))
      .map((i) => `${i.file}:${i.line}`);
    expect({ code: outcome.code, unknownRemediations }).toEqual({
      code: 'RUNBOOK_INVALID',
      unknownRemediations: [78, 87, 91, 92, 96].map(
        (line) => `test/fixtures/seed-payment-runbook.yaml:${line}`,
      ),
    });
  });

  it('returns the runbooks of a clean set', async () => {
    const runbooks = await requireRunbooks(['test/fixtures/runbook-test-db.yaml']);
    expect(runbooks.map((r) => r.runbook.id)).toEqual(['db']);
  });
});
