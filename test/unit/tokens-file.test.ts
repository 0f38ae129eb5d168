import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadTokensFile } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { authFrom } from '../../src/main.ts';

const sha = (token: string) => `sha256:${createHash('sha256').update(token).digest('hex')}`;
const SECRET = 'a-raw-token-that-must-never-be-echoed';

function tokensFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fireline-tokens-')), 'tokens');
  writeFileSync(file, text);
  return file;
}

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('FIRELINE_TOKENS_FILE: named tokens, hashed at rest', () => {
  it('reads name, scope, sha256 per line; comments and blank lines are skipped', () => {
    const file = tokensFile(
      [
        '# who, what they may do, sha256 of their token',
        '',
        `alice, operator, ${sha('alice-token')}`,
        `  bob@example.com ,viewer,${sha('bob-token').toUpperCase().replace('SHA256', 'sha256')}  # laptop`,
        `alertmanager.prod,ingest,${sha('am-token')}\r`,
        '   ',
      ].join('\n'),
    );
    expect(loadTokensFile(file)).toEqual([
      { name: 'alice', scope: 'operator', sha256: sha('alice-token').slice(7) },
      { name: 'bob@example.com', scope: 'viewer', sha256: sha('bob-token').slice(7) },
      { name: 'alertmanager.prod', scope: 'ingest', sha256: sha('am-token').slice(7) },
    ]);
  });

  it.each([
    ['a line without three fields', `alice operator ${sha('x')}`, /three fields/],
    ['an unknown scope', `alice, admin, ${sha('x')}`, /scope 'admin'.*ingest, operator, viewer/],
    ['a name outside the charset', `alice smith, operator, ${sha('x')}`, /name/],
    ['a name too long', `${'a'.repeat(65)}, operator, ${sha('x')}`, /name/],
    ['a reserved name', `system, operator, ${sha('x')}`, /reserved/],
    ['the token itself instead of its hash', `alice, operator, ${SECRET}`, /sha256:<64 hex digits>/],
    ['a short hash', `alice, operator, sha256:abcd`, /sha256:<64 hex digits>/],
  ])('stops start-up on %s, naming the file and the line', (_what, bad, message) => {
    const file = tokensFile(`# tokens\nbob, viewer, ${sha('bob')}\n${bad}\n`);
    const err = thrownBy(() => loadTokensFile(file));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`${file}:3`);
    expect(err.message).toMatch(message);
    expect(err.message, 'never echoes a token').not.toContain(SECRET);
  });

  it('refuses the same token twice (who would it be?), an empty file and a missing one', () => {
    const twice = tokensFile(`alice, operator, ${sha('same')}\nbob, viewer, ${sha('same')}\n`);
    expect(thrownBy(() => loadTokensFile(twice)).message).toMatch(new RegExp(`${twice}:2: .*line 1`));
    const empty = tokensFile('# nobody yet\n\n');
    expect(thrownBy(() => loadTokensFile(empty)).message).toMatch(new RegExp(`${empty}: .*no tokens`));
    const missing = join(tmpdir(), 'fireline-no-such-tokens-file');
    const err = thrownBy(() => loadTokensFile(missing));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(missing);
  });

  it('authFrom: a tokens file turns auth on, so a non-loopback HOST may be bound', () => {
    const file = tokensFile(`alice, operator, ${sha('alice-token')}\n`);
    const auth = authFrom(loadConfig({ HOST: '0.0.0.0', FIRELINE_TOKENS_FILE: file }));
    expect(auth.namedTokens).toEqual([
      { name: 'alice', scope: 'operator', sha256: sha('alice-token').slice(7) },
    ]);
    expect(() => authFrom(loadConfig({ HOST: '0.0.0.0' }))).toThrow(/FIRELINE_TOKENS_FILE/);
    const bad = tokensFile('alice, operator\n');
    expect(() => authFrom(loadConfig({ FIRELINE_TOKENS_FILE: bad }))).toThrow(`${bad}:1`);
  });
});
