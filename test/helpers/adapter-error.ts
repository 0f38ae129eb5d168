import { AdapterError } from '../../src/errors.ts';

/**
 * The AdapterError `promise` rejects with. Resolving is a failure naming the facts it gave; any
 * other rejection is rethrown as it is, so a bug never passes for an expected adapter failure.
 */
export async function adapterFailure(promise: Promise<unknown>): Promise<AdapterError> {
  const outcome = await promise.then(
    (facts) => new Error(`expected an AdapterError, got facts ${JSON.stringify(facts)}`),
    (err: unknown) => err,
  );
  if (!(outcome instanceof AdapterError)) throw outcome;
  return outcome;
}
