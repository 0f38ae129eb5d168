import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../../src/cli/main.ts';
import { runbookJsonSchema } from '../../src/cli/runbook-commands.ts';

const RUNBOOK = `id: api-down
name: API down
severity: P2
service: api
triggers: [{ type: alert, alertName: ApiDown }]
diagnostics:
  - id: up
    name: Up
    type: prometheus_query
    config: { query: 'up{job="api"}' }
    interpret: { critical: value == 0, healthy: value == 1 }
decisionTree:
  - { condition: "diagnostics.up.status == 'critical'", then: [restart] }
remediations:
  - id: restart
    name: Restart
    type: automated
    action: { type: restart_service, config: { deployment: api, namespace: prod } }
escalation: { primary: '#api' }
`;

const RUNBOOK_TEST = `runbook: api-down
cases:
  - name: api down
    diagnostics: { up: { facts: { value: 0 } } }
    expect: { overall: critical, remediations: [restart] }
  - name: wrong on purpose
    diagnostics: { up: { facts: { value: 1 } } }
    expect: { overall: critical, remediations: [restart] }
`;

interface RunCase {
  name: string;
  files: Record<string, string>;
  argv: string[];
  code: number;
  stdout: string;
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Writes `files` into a fresh directory and runs `fireline <argv>` there in-process; `<dir>` stands for it. */
async function run(files: Record<string, string>, argv: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'fireline-cli-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  let stdout = '';
  let stderr = '';
  const code = await main(
    argv.map((a) => a.replace('<dir>', dir)),
    { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
  );
  return { code, stdout: stdout.replaceAll(dir, '<dir>'), stderr: stderr.replaceAll(dir, '<dir>') };
}

describe('fireline lint', () => {
  it.each([
    {
      name: 'a clean set',
      files: { 'api.yaml': RUNBOOK, 'api.test.yaml': RUNBOOK_TEST },
      argv: ['lint', '<dir>'],
      code: 0,
      stdout: '2 files checked: 0 errors, 0 warnings\n',
    },
    {
      name: 'an error, with its place',
      files: { 'api.yaml': RUNBOOK.replace('then: [restart]', 'then: [restart, page]') },
      argv: ['lint', '<dir>'],
      code: 1,
      stdout:
        "<dir>/api.yaml:13:73: decisionTree[0].then[1]: unknown remediation 'page'\n1 file checked: 1 error, 0 warnings\n",
    },
    {
      name: 'warnings alone pass',
      files: {
        'api.yaml': `${RUNBOOK}  - { id: page, name: Page, type: escalate }\n`.replace(
          /(escalation.*\n)(.*\n)$/,
          '$2$1',
        ),
      },
      argv: ['lint', '<dir>'],
      code: 0,
      stdout:
        "<dir>/api.yaml:19:5: warning: remediations[1]: remediation 'page' is never reached by any rule\n1 file checked: 0 errors, 1 warning\n",
    },
    {
      name: 'duplicate ids name both files',
      files: { 'a/api.yaml': RUNBOOK, 'b/api.yml': RUNBOOK },
      argv: ['lint', '<dir>'],
      code: 1,
      stdout:
        "<dir>/b/api.yml:1:1: id: duplicate runbook id 'api-down': also defined in <dir>/a/api.yaml\n2 files checked: 1 error, 0 warnings\n",
    },
    {
      name: 'a path that does not exist',
      files: {},
      argv: ['lint', '<dir>/nope'],
      code: 1,
      stdout: '<dir>/nope: no such file or directory\n0 files checked: 1 error, 0 warnings\n',
    },
    {
      name: 'a directory without runbooks',
      files: { 'notes.txt': 'hello' },
      argv: ['lint', '<dir>'],
      code: 1,
      stdout: '<dir>: no runbook files (*.yaml) found\n0 files checked: 1 error, 0 warnings\n',
    },
    {
      name: 'a test file naming a runbook that is not there',
      files: {
        'api.yaml': RUNBOOK,
        'api.test.yaml': RUNBOOK_TEST.replace('runbook: api-down', 'runbook: api'),
      },
      argv: ['lint', '<dir>'],
      code: 1,
      stdout:
        "<dir>/api.test.yaml:1:1: runbook: unknown runbook 'api': no runbook with this id loaded from the given paths\n2 files checked: 1 error, 0 warnings\n",
    },
  ] as RunCase[])('$name', async ({ files, argv, code, stdout }) => {
    expect(await run(files, argv)).toEqual({ code, stdout, stderr: '' });
  });

  it('prints { files, issues } with --format json', async () => {
    const result = await run({ 'api.yaml': RUNBOOK.replace('severity: P2', 'severity: P0') }, [
      'lint',
      '--format',
      'json',
      '<dir>',
    ]);
    expect({ code: result.code, output: JSON.parse(result.stdout) }).toEqual({
      code: 1,
      output: {
        files: ['<dir>/api.yaml'],
        issues: [
          {
            file: '<dir>/api.yaml',
            line: 3,
            column: 1,
            path: 'severity',
            message: 'expected one of P1, P2, P3, P4; got "P0"',
            severity: 'error',
          },
        ],
      },
    });
  });
});

describe('fireline test', () => {
  it.each([
    {
      name: 'a passing and a failing case',
      files: { 'api.yaml': RUNBOOK, 'api.test.yaml': RUNBOOK_TEST },
      argv: ['test', '<dir>'],
      code: 1,
      stdout: [
        '✓ api-down › api down',
        '✗ api-down › wrong on purpose',
        '    overall',
        '      - expected: critical',
        '      + actual:   healthy',
        '    remediations',
        '      - expected: [restart]',
        '      + actual:   []',
        '1 passed, 1 failed',
        '',
      ].join('\n'),
    },
    {
      name: 'a test file named directly finds the runbook beside it',
      files: { 'api.yaml': RUNBOOK, 'api.test.yaml': RUNBOOK_TEST.split('  - name: wrong')[0]! },
      argv: ['test', '<dir>/api.test.yaml'],
      code: 0,
      stdout: '✓ api-down › api down\n1 passed, 0 failed\n',
    },
    {
      name: 'no test files',
      files: { 'api.yaml': RUNBOOK },
      argv: ['test', '<dir>'],
      code: 1,
      stdout: '<dir>: no runbook tests (*.test.yaml) found\n0 passed, 0 failed\n',
    },
    {
      name: 'a test file with an unknown diagnostic',
      files: {
        'api.yaml': RUNBOOK,
        'api.test.yaml': RUNBOOK_TEST.replace(
          '{ up: { facts: { value: 0 } } }',
          '{ upp: { verdict: healthy } }',
        ),
      },
      argv: ['test', '<dir>'],
      code: 1,
      stdout: [
        "<dir>/api.test.yaml:4:5: cases[0].diagnostics: no result for diagnostic 'up' (give one, or set defaults.verdict)",
        "<dir>/api.test.yaml:4:20: cases[0].diagnostics.upp: unknown diagnostic 'upp'",
        '0 passed, 0 failed',
        '',
      ].join('\n'),
    },
  ] as RunCase[])('$name', async ({ files, argv, code, stdout }) => {
    expect(await run(files, argv)).toEqual({ code, stdout, stderr: '' });
  });
});

describe('fireline help and usage errors', () => {
  it.each([
    { argv: [], code: 0, out: 'stdout', says: 'Usage: fireline <command> [options]' },
    { argv: ['--help'], code: 0, out: 'stdout', says: 'Usage: fireline <command> [options]' },
    { argv: ['help'], code: 0, out: 'stdout', says: 'Usage: fireline <command> [options]' },
    {
      argv: ['help', 'lint'],
      code: 0,
      out: 'stdout',
      says: '--format <text|json>  output format (default: text)',
    },
    { argv: ['lint', '--help'], code: 0, out: 'stdout', says: 'Usage: fireline lint [options] [paths…]' },
    { argv: ['bogus'], code: 2, out: 'stderr', says: "fireline: unknown command 'bogus'" },
    { argv: ['toString'], code: 2, out: 'stderr', says: "fireline: unknown command 'toString'" },
    { argv: ['help', 'bogus'], code: 2, out: 'stderr', says: "fireline: unknown command 'bogus'" },
    {
      argv: ['lint', '--format', 'xml'],
      code: 2,
      out: 'stderr',
      says: "--format must be one of text, json; got 'xml'",
    },
    { argv: ['lint', '--bogus'], code: 2, out: 'stderr', says: "fireline lint: Unknown option '--bogus'" },
    { argv: ['schema', 'extra'], code: 2, out: 'stderr', says: 'fireline schema: Unexpected argument' },
  ] as const)('fireline $argv', async ({ argv, code, out, says }) => {
    const result = await run({}, [...argv]);
    expect({ code: result.code, says: result[out].includes(says) }, result[out]).toEqual({
      code,
      says: true,
    });
  });

  it('lists every command in the usage', async () => {
    const { stdout } = await run({}, ['help']);
    const missing = Object.keys(COMMANDS).filter((name) => !stdout.includes(`fireline ${name}`));
    expect(missing, stdout).toEqual([]);
  });

  it('prints the JSON Schema of a runbook', async () => {
    const { code, stdout } = await run({}, ['schema']);
    expect({ code, schema: JSON.parse(stdout) }).toEqual({ code: 0, schema: runbookJsonSchema() });
  });

  it('bin/fireline.js exits with the code main returns', async () => {
    const child = await promisify(execFile)('node', ['bin/fireline.js', 'bogus']).then(
      () => ({ code: 0 }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr.split('\n')[0] }),
    );
    expect(child).toEqual({ code: 2, stderr: "fireline: unknown command 'bogus'" });
  });
});
