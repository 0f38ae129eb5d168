import { describe, expect, it } from 'vitest';
import { ACTION_TYPES } from '../../src/engine/action-types/index.ts';
import { stepSafety } from '../../src/engine/runbook-schema.ts';
import { InvariantError } from '../../src/errors.ts';

/** Safety defaults by action risk (README "Safety defaults by action type"), as pure data. */
describe('stepSafety', () => {
  it.each<[string, number | undefined, { maxPerHour: number | null; lockTarget: boolean }]>([
    ['restart_service', undefined, { maxPerHour: 3, lockTarget: true }],
    ['scale_up', undefined, { maxPerHour: 3, lockTarget: true }],
    ['rollback', undefined, { maxPerHour: 3, lockTarget: true }],
    ['flush_cache', undefined, { maxPerHour: 3, lockTarget: true }],
    ['run_script', undefined, { maxPerHour: 3, lockTarget: true }],
    ['notify', undefined, { maxPerHour: null, lockTarget: false }],
    ['restart_service', 1, { maxPerHour: 1, lockTarget: true }],
    ['notify', 20, { maxPerHour: 20, lockTarget: false }],
  ])('%s with maxPerHour %s → %o', (type, maxPerHour, expected) => {
    expect(stepSafety(maxPerHour === undefined ? {} : { maxPerHour }, type)).toEqual(expected);
  });

  it('has a row above for every action type of the language', () => {
    expect(ACTION_TYPES.map((s) => s.type).sort()).toEqual([
      'flush_cache',
      'notify',
      'restart_service',
      'rollback',
      'run_script',
      'scale_up',
    ]);
  });

  it('throws InvariantError for a type the language does not have', () => {
    expect(() => stepSafety({}, 'reboot_datacenter')).toThrow(InvariantError);
  });
});
