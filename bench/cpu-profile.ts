/**
 * Preload for a CPU profile of a child process (Node 20 refuses `--cpu-prof` in NODE_OPTIONS):
 * `NODE_OPTIONS="--import tsx --import <this file>"` with CPU_PROFILE_DIR set. Profiles from load
 * until exit and writes `<dir>/<pid>.cpuprofile` (Chrome DevTools format) when the process exits.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // An in-process session answers synchronously, so this still runs within the exit handler.
    session.post('Profiler.stop', (err, result) => {
      if (err) throw err;
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
