import { describe, expect, it } from 'vitest';
import { ConnectionsSchema, parseConnections } from '../../src/adapters/connections.ts';
import { redactUrl } from '../../src/config.ts';
import { banner, type Fireline } from '../../src/main.ts';
import type { RedisTarget } from '../../src/redis/launcher.ts';

const fireline = { url: 'http://127.0.0.1:3000', connections: ConnectionsSchema.parse({}) } as Fireline;
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

describe('the start banner says what is not wired', () => {
  const redis = target('redis://127.0.0.1:6379', 'local');

  it('with no connection configured, says so and points at the demo and doctor', () => {
    const text = banner(fireline, 'all', redis, ['a'], false);
    expect(text).toContain('No connections configured');
    expect(text).toMatch(/npm run demo/);
    expect(text).toMatch(/npx fireline doctor/);
  });

  it.each([
    [{ PROMETHEUS_URL: 'http://prom:9090' }, 'prometheus'],
    [{ SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x' }, 'slack'],
    [{ PAGERDUTY_ROUTING_KEY: 'k'.repeat(32), LOKI_URL: 'http://loki:3100' }, 'loki, pagerduty'],
    [{ DATABASE_URL: 'postgres://db/x', KUBECONFIG: '/k' }, 'databases, kubernetes'],
  ])('with %o configured, lists %s instead', (env, listed) => {
    const text = banner({ ...fireline, connections: parseConnections(env) }, 'all', redis, ['a'], false);
    expect(text).not.toContain('No connections configured');
    expect(text).toContain(`Connections:    ${listed} (`);
  });
});
