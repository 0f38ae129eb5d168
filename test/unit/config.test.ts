import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

describe('loadConfig', () => {
  it('applies defaults', () => {
    expect(loadConfig({})).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 3000,
      FIRELINE_PREFIX: 'fireline',
      FIRELINE_DRY_RUN: false,
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT="eighty"/],
    [{ FIRELINE_OPERATOR_TOKEN: 'short' }, /FIRELINE_OPERATOR_TOKEN="<5 characters, hidden>"/],
    [{ REDIS_URL: 'redis+cluster://:hunter2@a:1,b' }, /REDIS_URL="redis\+cluster:\/\/\*\*\*@a:1,b"/],
  ])('names the bad variable and hides secrets: %j', (env, message) => {
    const thrown = (() => {
      try {
        loadConfig(env);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toMatch(/hunter2|"short"/);
  });
});
