#!/usr/bin/env node
// Entry point of the `fireline` command. Runs the TypeScript sources through tsx, so
// `npm install` is all a user needs: there is no build step to forget.
//
// `npm link` and `npm install -g <checkout>` put a symlink to this file on PATH. tsx and the
// sources must be found from this file's real place (the checkout), not from the link's folder:
// Node does that for the main module unless it keeps symlinked paths (--preserve-symlinks-main);
// then this file imports itself by its real path, and that copy does the work.
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const real = pathToFileURL(realpathSync(fileURLToPath(import.meta.url))).href;
if (real !== import.meta.url) {
  await import(real);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
  // The command is over. A connection still retrying (Redis gone during shutdown) must not keep
  // the process alive: give output a moment to flush, then leave.
  setTimeout(() => process.exit(), 2000).unref();
}
