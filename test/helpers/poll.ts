/**
 * Polls `read` until `ok` holds: for waiting on a state (a job finished, a count reached) that no
 * event announces. Rejects after `timeoutMs` naming what it waited for and the last value seen.
 */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
