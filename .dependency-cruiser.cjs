// Import rules for src/: no import circles, and no layer imports a layer above it (or beside it) unless
// listed here. Run by `npm run check` (script `check:layers`); a violation prints importer → imported
// and the rule's comment, and the check exits non-zero.
//
// Layers, lowest first (a layer may import only the layers listed for it, and itself):
//   base      src/errors.ts, src/logger.ts   nothing from src
//   engine    src/engine/                    base errors.ts only (pure domain: no I/O packages)
//   runtime   src/runtime/                   base
//   redis     src/redis/                     base
//   store     src/store/                     base, engine, redis, runtime
//   queues    src/queues/                    base, engine, redis, runtime
//   adapters  src/adapters/                  base, engine, redis, runtime
//   history   src/history/                   base, engine, runtime
//   incidents src/incidents/                 base, engine, runtime, redis, store, queues, adapters, history
//   workers   src/workers/                   all of the above plus incidents (not producer)
//   producer  src/producer/                  base, engine, runtime, redis, store, queues, history, incidents
//   process   src/process/                   anything but the top
//   top       src/main.ts, src/config.ts, src/cli/   anything
// src/console/ is browser JavaScript served as static files and is not part of this graph.

const BASE = '^src/(errors|logger)\\.ts$';
const ERRORS = '^src/errors\\.ts$';
const ENGINE = '^src/engine/';
const RUNTIME = '^src/runtime/';
const REDIS = '^src/redis/';
const STORE = '^src/store/';
const QUEUES = '^src/queues/';
const ADAPTERS = '^src/adapters/';
const HISTORY = '^src/history/';
const INCIDENTS = '^src/incidents/';
const WORKERS = '^src/workers/';
const PRODUCER = '^src/producer/';
const PROCESS = '^src/process/';
const TOP = '^src/((main|config)\\.ts$|cli/)';
const CONSOLE = '^src/console/';
const ALL_LAYERS = [
  BASE,
  ENGINE,
  RUNTIME,
  REDIS,
  STORE,
  QUEUES,
  ADAPTERS,
  HISTORY,
  INCIDENTS,
  WORKERS,
  PRODUCER,
  PROCESS,
  TOP,
];

/**
 * One allow-list rule: modules in `layer` may import, from src/, only `layer` itself and `allowed`.
 * Imports of the top (main.ts, config.ts, cli/) are left to the rule `no-import-of-top`, and imports
 * of a src file in no layer to `not-in-a-layer`, so that each violation is reported once.
 */
function layer(name, path, allowed, words) {
  return {
    name,
    severity: 'error',
    comment: words,
    from: { path },
    to: { path: ALL_LAYERS, pathNot: [path, ...allowed, TOP] },
  };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import circle among src files (type-only imports count too): the modules listed after the ' +
        'arrow lead back to the importer. Break the circle, e.g. by moving the shared part down a layer.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-import-of-top',
      severity: 'error',
      comment:
        'Only the top (src/main.ts, src/config.ts, src/cli/) may import src/main.ts, src/config.ts or ' +
        'src/cli/: lower layers get configuration passed in, they do not read it.',
      from: { path: '^src/', pathNot: TOP },
      to: { path: TOP },
    },
    {
      name: 'no-import-of-test-bench-scripts',
      severity: 'error',
      comment: 'Nothing in src/ may import from test/, bench/ or scripts/.',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'not-in-a-layer',
      severity: 'error',
      comment:
        'This src file belongs to no layer of .dependency-cruiser.cjs: put it in a layer folder, or add ' +
        'its layer to the config, before importing it.',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: [...ALL_LAYERS, CONSOLE] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'This import does not resolve to a file or an installed package, so the layer rules cannot see ' +
        'where it goes (and it would fail at run time).',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
    layer(
      'base-imports-nothing',
      BASE,
      [],
      'src/errors.ts and src/logger.ts are the base layer: they import nothing from src.',
    ),
    layer(
      'engine-imports-engine-and-errors-only',
      ENGINE,
      [ERRORS],
      'src/engine/ is the pure domain: it may import only src/engine/ and src/errors.ts.',
    ),
    {
      name: 'engine-is-pure',
      severity: 'error',
      comment:
        'src/engine/ is the pure domain: no bullmq, ioredis, express, pino, pg, node:fs, ' +
        'node:child_process, node:net or node:http(s) in it. Do the I/O in a higher layer and pass data in.',
      from: { path: ENGINE },
      to: {
        path: [
          '(^|/)node_modules/(@types/)?(bullmq|ioredis|express|pino|pg)/',
          '^(node:)?(fs|fs/promises|child_process|net|http|https|http2)$',
        ],
      },
    },
    layer(
      'runtime-imports-base-only',
      RUNTIME,
      [BASE],
      'src/runtime/ (shutdown, telemetry) may import only the base (src/errors.ts, src/logger.ts).',
    ),
    layer(
      'redis-imports-base-only',
      REDIS,
      [BASE],
      'src/redis/ may import only the base (src/errors.ts, src/logger.ts).',
    ),
    layer(
      'store-imports-below-only',
      STORE,
      [BASE, ENGINE, REDIS, RUNTIME],
      'src/store/ may import only the base, src/engine/, src/redis/ and src/runtime/.',
    ),
    layer(
      'queues-imports-below-only',
      QUEUES,
      [BASE, ENGINE, REDIS, RUNTIME],
      'src/queues/ may import only the base, src/engine/, src/redis/ and src/runtime/.',
    ),
    layer(
      'adapters-imports-below-only',
      ADAPTERS,
      [BASE, ENGINE, REDIS, RUNTIME],
      'src/adapters/ may import only the base, src/engine/, src/redis/ and src/runtime/.',
    ),
    layer(
      'history-imports-below-only',
      HISTORY,
      [BASE, ENGINE, RUNTIME],
      'src/history/ (the incident history in PostgreSQL) may import only the base, src/engine/ and src/runtime/.',
    ),
    layer(
      'incidents-imports-below-only',
      INCIDENTS,
      [BASE, ENGINE, RUNTIME, REDIS, STORE, QUEUES, ADAPTERS, HISTORY],
      'src/incidents/ (the application layer) may import only the base, src/engine/, src/runtime/, ' +
        'src/redis/, src/store/, src/queues/, src/adapters/ and src/history/.',
    ),
    layer(
      'workers-imports-below-only',
      WORKERS,
      [BASE, ENGINE, RUNTIME, REDIS, STORE, QUEUES, ADAPTERS, HISTORY, INCIDENTS],
      'src/workers/ (BullMQ processors) may import only the base, src/engine/, src/runtime/, src/redis/, ' +
        'src/store/, src/queues/, src/adapters/, src/history/ and src/incidents/ (not src/producer/ or src/process/).',
    ),
    layer(
      'producer-imports-below-only',
      PRODUCER,
      [BASE, ENGINE, RUNTIME, REDIS, STORE, QUEUES, HISTORY, INCIDENTS],
      'src/producer/ (HTTP) may import only the base, src/engine/, src/runtime/, src/redis/, src/store/, ' +
        'src/queues/, src/history/ and src/incidents/ (not src/workers/, src/adapters/ or src/process/).',
    ),
    // src/process/ (composition root) may import anything below the top: covered by no-import-of-top.
    // The top (src/main.ts, src/config.ts, src/cli/) may import anything.
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: CONSOLE },
    moduleSystems: ['es6', 'cjs'],
    // Type-only imports are dependencies too (a circle through `import type` is still a circle).
    tsPreCompilationDeps: true,
    // Resolves the `'./x.ts'` imports (allowImportingTsExtensions, NodeNext) as tsc does.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
