import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/config.ts';
import { banner, type Fireline } from '../../src/main.ts';
import type { RedisTarget } from '../../src/redis/launcher.ts';

const fireline = { url: 'http://127.0.0.1:3000' } as Fireline;
const target = (url: string, source: RedisTarget['source']): RedisTarget =>
  ({ url, source, stop: async () => undefined }) as RedisTarget;

describe('the start banner never prints a Redis password', () => {
  it.each([
    ['env', 'redis://:secret@host:6379'],
    ['env', 'redis://user:secret@host:6379/2'],
    ['env', 'rediss+cluster://user:secret@a:7000,b:7001'],
    ['local', 'redis://:secret@127.0.0.1:6379'],
    ['private', 'redis://:secret@127.0.0.1:6390'],
  ] as const)('%s %s', (source, url) => {
    const text = banner(fireline, 'all', target(url, source), ['a'], true);
    expect(text).not.toContain('secret');
    expect(text).toContain('***@');
  });

  it('redactUrl cuts the whole userinfo, even with @ or / in the password', () => {
    expect(redactUrl('redis://:secret@host:6379')).toBe('redis://***@host:6379');
    expect(redactUrl('redis://u:se@cr/et@host:6379/0')).toBe('redis://***@host:6379/0');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
  });
});
