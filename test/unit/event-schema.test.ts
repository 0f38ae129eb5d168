import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { EVENT_DATA } from '../../src/engine/event-schemas.ts';
import { EVENT_TYPES } from '../../src/engine/types.ts';

/** What `fireline schema events` prints. */
async function printed(): Promise<string> {
  let stdout = '';
  const code = await main(['schema', 'events'], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: process.stderr,
  });
  if (code !== 0) throw new Error(`fireline schema events exited with ${code}`);
  return stdout;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/**
 * Every event type the code writes: the literals after `type:` or `event:` (a ternary's two
 * branches too) that look like event types (`a.b`, or `note`), in the layers that record events.
 */
function emittedTypes(): Map<string, string> {
  const found = new Map<string, string>();
  const pattern =
    /\b(?:type|event):\s*(?:[\w.!?() ]+\?\s*)?'([a-z_]+(?:\.[a-z_]+)?)'(?:\s*:\s*'([a-z_]+\.[a-z_]+)')?/g;
  for (const file of ['src/incidents', 'src/store', 'src/producer', 'src/workers'].flatMap(sourceFiles)) {
    for (const m of readFileSync(file, 'utf8').matchAll(pattern))
      for (const type of [m[1], m[2]])
        if (type && (type.includes('.') || type === 'note')) found.set(type, file);
  }
  return found;
}

describe('the progress event schema', () => {
  it('docs/events.schema.json is what `fireline schema events` prints', async () => {
    expect(
      readFileSync('docs/events.schema.json', 'utf8'),
      'docs/events.schema.json is out of date; regenerate it with: node bin/fireline.js schema events > docs/events.schema.json',
    ).toBe(await printed());
  });

  it('names every event type the code emits', async () => {
    const schema = JSON.parse(await printed()) as { oneOf: { properties: { type: { const: string } } }[] };
    const inSchema = new Set(schema.oneOf.map((m) => m.properties.type.const));
    const emitted = emittedTypes();
    // The scan must see the emitters, or it proves nothing.
    expect(emitted.size, [...emitted.keys()].join(', ')).toBeGreaterThanOrEqual(25);
    const missing = [...emitted].filter(([t]) => !inSchema.has(t)).map(([t, f]) => `${t} (${f})`);
    expect(missing, 'event types emitted but not in src/engine/event-schemas.ts').toEqual([]);
    expect([...inSchema].sort()).toEqual([...EVENT_TYPES].sort());
    expect(Object.keys(EVENT_DATA).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('compiles in strict mode, accepts a real-shaped message and names what is wrong with a bad one', async () => {
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(await printed()));
    const message = {
      id: '1733600000000-0',
      globalId: '1733600000000-1',
      incidentId: 'inc-1',
      type: 'diagnostic.finished',
      at: '2026-12-07T20:00:00.000Z',
      actor: 'system',
      message: 'DB pool: critical',
      data: { stepId: 'db', status: 'critical', durationMs: 12 },
    };
    expect(validate(message), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...message, data: { stepId: 'db', status: 'on fire' } })).toBe(false);
    expect(validate({ ...message, type: 'diagnostic.exploded' })).toBe(false);
  });
});
