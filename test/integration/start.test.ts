import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';
import { freePort, startRedis } from '../../scripts/harness/redis-server.ts';
import { redisAnswers } from '../../src/redis/launcher.ts';

describe('fireline start (npm start) on a machine with no Redis at the configured address', () => {
  const procs: FirelineProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0))
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
  });

  it('brings up its own redis-server, serves /readyz, and stops both cleanly on SIGTERM', async () => {
    const [port, nothingThere] = [await freePort(), await freePort()];
    const dataDir = mkdtempSync(join(tmpdir(), 'fireline-start-'));
    const p = spawnFireline(['start'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      FIRELINE_LOCAL_REDIS: `redis://127.0.0.1:${nothingThere}`,
      FIRELINE_DATA_DIR: dataDir,
      FIRELINE_RUNBOOKS: 'runbooks',
      FIRELINE_PREFIX: `start${port}`,
      REDIS_URL: '',
    });
    procs.push(p);
    const started = JSON.parse(await p.waitForLine(/started a private redis-server/, 30_000)) as {
      port: number;
    };
    await p.waitForLine(/^Console: +http:\/\/127\.0\.0\.1:\d+\/$/, 30_000);
    const redisUrl = `redis://127.0.0.1:${started.port}`;
    expect(await redisAnswers(redisUrl)).toBe(true);

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', redis: 'ok' });
    expect(p.lines.some((l) => l.includes('AUTHENTICATION IS OFF'))).toBe(true);
    expect(readdirSync(join(dataDir, 'redis')).some((f) => f.startsWith('appendonly'))).toBe(true);

    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.lines.some((l) => l.includes('stopped cleanly'))).toBe(true);
    expect(await redisAnswers(redisUrl)).toBe(false);
    expect(existsSync(join(dataDir, 'redis'))).toBe(true);
  });

  it('refuses to listen beyond loopback without tokens, naming the variables', async () => {
    const p = spawnFireline(['start', '--role', 'api'], {
      HOST: '0.0.0.0',
      PORT: String(await freePort()),
      FIRELINE_RUNBOOKS: 'runbooks',
    });
    procs.push(p);
    expect(await p.exited).toBe(1);
    expect(p.lines.join('\n')).toMatch(
      /HOST=0\.0\.0\.0: refusing to listen beyond loopback.*FIRELINE_INGEST_TOKEN/,
    );
  });

  it('says which Redis it cannot reach and exits 1, without a stack trace', async () => {
    const p = spawnFireline(['start', '--role', 'worker'], {
      REDIS_URL: `redis://:secret@127.0.0.1:${await freePort()}`,
      FIRELINE_RUNBOOKS: 'runbooks',
    });
    procs.push(p);
    expect(await p.exited).toBe(1);
    const out = p.lines.join('\n');
    expect(out).toMatch(/cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+/);
    expect(out).not.toMatch(/secret/);
    const plain = p.lines.filter((l) => !l.startsWith('{'));
    expect(plain.join('\n'), 'no unhandled crash: human lines carry no stack frames').not.toMatch(/^\s+at /m);
  });

  it('exits on SIGTERM even when Redis has gone away', async () => {
    const redis = await startRedis();
    try {
      const p = spawnFireline(['start', '--role', 'worker'], {
        REDIS_URL: redis.url,
        FIRELINE_RUNBOOKS: 'runbooks',
        FIRELINE_SHUTDOWN_TIMEOUT_MS: '1000',
      });
      procs.push(p);
      await p.waitForLine(/workers started/);
      redis.process.kill('SIGKILL');
      await new Promise((r) => redis.process.once('exit', r));
      const asked = Date.now();
      p.child.kill('SIGTERM');
      const code = await Promise.race([
        p.exited,
        new Promise((r) => setTimeout(() => r('still running'), 20_000)),
      ]);
      expect(code, p.lines.slice(-5).join('\n')).toBe(0);
      expect(Date.now() - asked).toBeLessThan(20_000);
    } finally {
      await redis.stop();
    }
  });

  it('names a bad variable and exits 1', async () => {
    const p = spawnFireline(['start'], { PORT: 'eighty' });
    procs.push(p);
    expect(await p.exited).toBe(1);
    expect(p.lines.join('\n')).toMatch(/PORT="eighty"/);
  });
});
