import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';

/** What `fireline schema` prints. */
async function fireLineSchema(): Promise<string> {
  let stdout = '';
  const code = await main(['schema'], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: process.stderr,
  });
  if (code !== 0) throw new Error(`fireline schema exited with ${code}`);
  return stdout;
}

const RUNBOOK_FILES = readdirSync('runbooks')
  .filter((f) => /\.ya?ml$/.test(f) && !/\.test\.ya?ml$/.test(f))
  .map((f) => `runbooks/${f}`);

function validatorFor(schemaText: string) {
  return new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(schemaText));
}

describe('runbooks/schema.json', () => {
  it('is what `fireline schema` prints', async () => {
    expect(
      readFileSync('runbooks/schema.json', 'utf8'),
      'runbooks/schema.json is out of date; regenerate it with: node bin/fireline.js schema > runbooks/schema.json',
    ).toBe(await fireLineSchema());
  });
});

describe('the JSON Schema accepts every shipped runbook', () => {
  it('finds shipped runbooks in runbooks/', () => {
    expect(RUNBOOK_FILES.length, 'runbooks/ holds no *.yaml runbook').toBeGreaterThan(0);
  });

  it.each(RUNBOOK_FILES)('%s', async (file) => {
    const validate = validatorFor(await fireLineSchema());
    validate(parse(readFileSync(file, 'utf8')));
    expect(validate.errors ?? [], `${file} against the JSON Schema`).toEqual([]);
  });

  it('rejects the seed runbook, as zod does (its shell command is a string)', async () => {
    const validate = validatorFor(await fireLineSchema());
    validate(parse(readFileSync('test/fixtures/seed-payment-runbook.yaml', 'utf8')));
    const paths = (validate.errors ?? []).map((e) => e.instancePath);
    expect(paths, JSON.stringify(validate.errors)).toContain('/diagnostics/3/config/command');
  });
});

describe('the shipped runbooks and their tests', () => {
  it('lint clean and their tests pass', async () => {
    let stdout = '';
    const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: process.stderr };
    const codes = { lint: await main(['lint', 'runbooks'], io), test: await main(['test', 'runbooks'], io) };
    expect(codes, stdout).toEqual({ lint: 0, test: 0 });
  });
});
