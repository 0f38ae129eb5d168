import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { createApp } from '../../src/producer/app.ts';
import type { AuthConfig } from '../../src/producer/auth.ts';
import type { ApiDeps, RouteModule } from '../../src/producer/deps.ts';

/** A running app on 127.0.0.1, port 0; `close` ends open connections too. */
export interface ApiServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `createApp` over real HTTP for a test; close it in afterEach. */
export async function startApi(
  pipeline: Pipeline,
  modules: readonly RouteModule[],
  extra: Partial<ApiDeps> & { auth?: AuthConfig } = {},
): Promise<ApiServer> {
  const deps: ApiDeps = {
    pipeline,
    auth: {},
    logger: pipeline.deps.logger,
    runbookPaths: [],
    ...extra,
  };
  const app = createApp(deps, modules);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
