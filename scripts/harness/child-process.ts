import type { ChildProcess } from 'node:child_process';

/**
 * Ends `child` as a supervisor would: SIGTERM, then SIGKILL if it is still there after `graceMs`;
 * resolves once it has exited (at once when it already had).
 */
export async function terminate(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
