/**
 * Reading a V8 CPU profile (`node --cpu-prof`, Chrome DevTools format) of a benchmark's child
 * process: self time by function and by file (a package under node_modules counts as one file),
 * optionally only for the samples within a time window, so a profile of a whole run can be read
 * for one of its phases.
 *
 * The profile's times are microseconds of the monotonic clock (V8's TimeTicks, CLOCK_MONOTONIC on
 * Linux), the clock of `process.hrtime` in any process of the machine: `monotonicMicros()` taken
 * in the bench process bounds a window of the child's profile.
 *
 * bench/ingest.ts starts its API child with `--cpu-prof` when BENCH_INGEST_CPU_PROF=<dir> is set,
 * and prints the summary of the "API alone" phase. Also runnable on any profile:
 * `npx tsx bench/cpu-profile.ts <file.cpuprofile> [top]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time in the window, milliseconds (idle included). */
  totalMs: number;
  /** Sampled time the process was not idle, milliseconds. */
  busyMs: number;
  samples: number;
  /** Self time by function (`name file:line:column`), largest first. */
  functions: { name: string; ms: number; pct: number }[];
  /** Self time by file (a node_modules package as one), largest first. */
  files: { name: string; ms: number; pct: number }[];
}

/** The monotonic clock of the profiles, in microseconds. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * The profile file `node --cpu-prof --cpu-prof-dir=<dir>` wrote for the main thread of process
 * `pid`, if any (`CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile`; worker threads, such as
 * tsx's loader thread, write their own).
 */
export function profileOf(dir: string, pid: number): string | undefined {
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`));
  return name && join(dir, name);
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function shortUrl(url: string): string {
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

/** A file's group: the package for node_modules, else the path; V8's own entries by name. */
function fileGroup(url: string, functionName: string): string {
  if (!url) return functionName;
  return url.replace(/^(.*?node_modules\/(?:@[^/]+\/)?[^/]+)\/.*$/, '$1');
}

/** Self time by function and by file of the samples taken within [fromMicros, toMicros]. */
export function summarizeProfile(
  file: string,
  opts: { fromMicros?: number; toMicros?: number; top?: number } = {},
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const from = opts.fromMicros ?? Number.NEGATIVE_INFINITY;
  const to = opts.toMicros ?? Number.POSITIVE_INFINITY;
  const selfByNode = new Map<number, number>();
  let at = profile.startTime;
  let total = 0;
  let samples = 0;
  // Each sample is charged the time to the next one (the last one none), as DevTools does.
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + us);
    total += us;
    samples++;
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfByNode) {
    const { functionName, url, lineNumber, columnNumber } = nodes.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') idle += us;
    const where = url ? ` ${shortUrl(url)}:${lineNumber + 1}:${columnNumber + 1}` : '';
    byFunction.set(`${name}${where}`, (byFunction.get(`${name}${where}`) ?? 0) + us);
    const group = fileGroup(shortUrl(url), name);
    byFile.set(group, (byFile.get(group) ?? 0) + us);
  }
  const busy = total - idle;
  const top = opts.top ?? 15;
  const rank = (m: Map<string, number>) =>
    [...m]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 100) / 10,
        pct: busy > 0 ? Math.round((1000 * us) / busy) / 10 : 0,
      }));
  return {
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    samples,
    functions: rank(byFunction),
    files: rank(byFile),
  };
}

/** The summary as text: busy time, then the top functions and files (self ms, % of busy). */
export function formatSummary(s: ProfileSummary): string {
  const row = (r: { name: string; ms: number; pct: number }) =>
    `${r.ms.toFixed(1).padStart(9)} ms ${r.pct.toFixed(1).padStart(5)}%  ${r.name}`;
  return [
    `busy ${s.busyMs} ms of ${s.totalMs} ms sampled; self time by function (% of busy):`,
    ...s.functions.map(row),
    'by file or package:',
    ...s.files.map(row),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: npx tsx bench/cpu-profile.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(summarizeProfile(file, { top: Number(top ?? 15) }))}\n`);
}
