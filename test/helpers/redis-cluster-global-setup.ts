import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startCluster } from '../../scripts/harness/redis-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis+cluster://…` of the run's local Redis Cluster. */
    clusterUrl: string;
  }
}

/** One local 3-master Redis Cluster for the whole `cluster` project run, or `REDIS_CLUSTER_URL` when set. */
export default async function setup(project: TestProject) {
  if (process.env.REDIS_CLUSTER_URL) {
    project.provide('clusterUrl', process.env.REDIS_CLUSTER_URL);
    return;
  }
  const cluster = await startCluster(3);
  project.provide('clusterUrl', cluster.url);
  return async () => cluster.stop();
}
