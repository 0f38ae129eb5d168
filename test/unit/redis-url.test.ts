import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import {
  effectivePrefix,
  isClusterUrl,
  isSentinelUrl,
  parseClusterUrl,
  parseSentinelUrl,
} from '../../src/redis/url.ts';

describe('REDIS_URL cluster form', () => {
  it('parses seed nodes, TLS, credentials (percent-decoded) and IPv6 literals', () => {
    expect(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001/')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      tls: false,
    });
    expect(parseClusterUrl('rediss+cluster://app:p%40ss@[::1]:7000')).toEqual({
      nodes: [{ host: '::1', port: 7000 }],
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    expect(parseClusterUrl('redis+cluster://:secret@h:1').password).toBe('secret');
    expect(isClusterUrl('redis://h:6379')).toBe(false);
  });

  it('refuses a node without a port, a path (no databases on a cluster), and says why', () => {
    expect(() => parseClusterUrl('redis+cluster://a:1,b')).toThrow(/'b' is not host:port/);
    expect(() => parseClusterUrl('redis+cluster://a:1/0')).toThrow(/no path or query/);
    expect(() => parseClusterUrl('redis+cluster://a:1,b:x')).toThrow(ConfigError);
  });

  it('loadConfig takes both forms and names a bad one', () => {
    expect(loadConfig({ REDIS_URL: 'redis+cluster://a:1,b:2' }).REDIS_URL).toBe('redis+cluster://a:1,b:2');
    expect(loadConfig({ REDIS_URL: 'rediss://h:6380/2' }).REDIS_URL).toBe('rediss://h:6380/2');
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://a' })).toThrow(/REDIS_URL=.*not host:port/);
    expect(() => loadConfig({ REDIS_URL: 'not a url' })).toThrow(/REDIS_URL=.*not a URL/);
  });
});

describe('prefix on a cluster', () => {
  it('wraps a prefix without braces in a hash tag, keeps a valid tag, and leaves one Redis alone', () => {
    const cluster = 'redis+cluster://a:1';
    expect(effectivePrefix(cluster, 'fireline')).toEqual({ prefix: '{fireline}', wrapped: true });
    expect(effectivePrefix(cluster, '{fireline}')).toEqual({ prefix: '{fireline}', wrapped: false });
    expect(effectivePrefix(cluster, 'prod{fl}')).toEqual({ prefix: 'prod{fl}', wrapped: false });
    expect(effectivePrefix('redis://h:6379', 'fireline')).toEqual({ prefix: 'fireline', wrapped: false });
  });

  it('refuses a malformed tag: Redis would hash the whole key, scattering the keys', () => {
    for (const bad of ['{}fireline', '{fireline', 'fireline}'])
      expect(() => effectivePrefix('redis+cluster://a:1', bad), bad).toThrow(
        /no usable Redis Cluster hash tag/,
      );
  });
});

describe('REDIS_URL sentinel form', () => {
  it('parses the sentinels, the primary name, the database, TLS and credentials', () => {
    expect(parseSentinelUrl('redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/mymaster')).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
      ],
      masterName: 'mymaster',
      db: 0,
      tls: false,
    });
    expect(parseSentinelUrl('rediss+sentinel://app:p%40ss@[::1]:26379/fire%20line/3')).toEqual({
      sentinels: [{ host: '::1', port: 26379 }],
      masterName: 'fire line',
      db: 3,
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    expect(isSentinelUrl('redis://h:6379')).toBe(false);
  });

  it('refuses a URL without the primary name, a bad database or a sentinel without a port, and says why', () => {
    expect(() => parseSentinelUrl('redis+sentinel://a:1')).toThrow(/names the primary after the sentinels/);
    expect(() => parseSentinelUrl('redis+sentinel://a:1/m/x')).toThrow(/names the primary/);
    expect(() => parseSentinelUrl('redis+sentinel://a:1,b/m')).toThrow(
      /Redis Sentinel URL: 'b' is not host:port/,
    );
    expect(loadConfig({ REDIS_URL: 'redis+sentinel://a:1,b:2/m' }).REDIS_URL).toBe(
      'redis+sentinel://a:1,b:2/m',
    );
    expect(() => loadConfig({ REDIS_URL: 'redis+sentinel://a:1' })).toThrow(/REDIS_URL=.*primary/);
  });
});
