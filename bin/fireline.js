#!/usr/bin/env node
// Entry point of the `fireline` command. Runs the TypeScript sources through tsx, so
// `npm install` is all a user needs: there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// The command is over. A connection still retrying (Redis gone during shutdown) must not keep
// the process alive: give output a moment to flush, then leave.
setTimeout(() => process.exit(), 2000).unref();
