import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { createCatalog } from '../../src/engine/catalog.ts';
import { createLogger } from '../../src/logger.ts';
import { createPipeline, type Pipeline, type PipelineOptions } from '../../src/process/pipeline.ts';
import { QUEUE_NAMES } from '../../src/queues/catalog.ts';
import { compileYaml } from '../helpers/pipeline.ts';

/** Every log line a pipeline wrote (pino JSON), kept to look for CROSSSLOT afterwards. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line) this.lines.push(line);
    done();
  }
}

/**
 * A pipeline on the cluster with a fresh prefix and its log captured at debug level. The prefix has
 * no braces on purpose: the pipeline must turn it into a hash tag itself.
 */
export async function clusterPipeline(
  clusterUrl: string,
  runbookYaml: string[],
  extra: Partial<PipelineOptions> = {},
): Promise<{ pipeline: Pipeline; log: LogCapture; configuredPrefix: string }> {
  const log = new LogCapture();
  const configuredPrefix = `t${randomUUID().slice(0, 8)}`;
  const pipeline = createPipeline({
    redisUrl: clusterUrl,
    prefix: configuredPrefix,
    catalog: createCatalog(compileYaml(...runbookYaml)),
    logger: createLogger({ level: 'debug', destination: log }),
    dryRun: false,
    ...extra,
  });
  await pipeline.ready();
  return { pipeline, log, configuredPrefix };
}

/**
 * Fails when anything mentions CROSSSLOT: a log line (worker `job failed`, queue and connection
 * errors are all logged) or the failure reason of any job left in a failed state.
 */
export async function expectNoCrossSlot(pipeline: Pipeline, log: LogCapture): Promise<void> {
  const logged = log.lines.filter((l) => /CROSSSLOT/i.test(l));
  expect(logged, 'log lines mentioning CROSSSLOT').toEqual([]);
  const failed: string[] = [];
  for (const name of QUEUE_NAMES) {
    for (const job of await pipeline.deps.queues.byName[name].getFailed(0, -1))
      if (/CROSSSLOT/i.test(job.failedReason ?? '')) failed.push(`${name}/${job.id}: ${job.failedReason}`);
  }
  expect(failed, 'jobs failed with CROSSSLOT').toEqual([]);
}
