#!/usr/bin/env node
// A subscriber to Fireline's progress channel, with plain ioredis and no Fireline code: it prints
// every event (one JSON object a line, the format of docs/events.schema.json) once and in order,
// and after a disconnect — of its connection, or of the whole process — it catches up from the
// events stream before it goes on live. README "Progress channel" describes the interface.
//
//   REDIS_URL=redis://127.0.0.1:6379 FIRELINE_PREFIX=fireline \
//     node examples/progress-subscriber.mjs [--after <globalId>] [--incident <id>]
//
// --after   the `globalId` of the last event you printed: the events after it are printed first
//           (what was published while you were away), then the live ones. Without it: live only.
// --incident  print only the events of this incident.
// Status lines go to stderr; stdout carries events only.

import { parseArgs } from 'node:util';
import Redis from 'ioredis';

const { values } = parseArgs({
  options: { after: { type: 'string' }, incident: { type: 'string' } },
});
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.FIRELINE_PREFIX ?? 'fireline';
const channel = `${prefix}:progress`;
const stream = `${prefix}:events`;
const timeline = (incidentId) => `${prefix}:incident:${incidentId}:timeline`;

/** The global id of the last event handled; what a restart passes as --after. */
let last = values.after ?? null;
/** Live messages that arrive while catching up wait here, so that nothing jumps the queue. */
let buffered = null;

/** Orders two stream ids (`<ms>-<seq>`). */
function compareIds(a, b) {
  const [am, as = '0'] = a.split('-');
  const [bm, bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm) || BigInt(as) - BigInt(bs);
  return d === 0n ? 0 : d < 0n ? -1 : 1;
}

/** Prints an event unless it was handled already (a catch-up and a live message can overlap). */
function handle(event) {
  if (last !== null && compareIds(event.globalId, last) <= 0) return;
  last = event.globalId;
  if (values.incident === undefined || event.incidentId === values.incident)
    process.stdout.write(`${JSON.stringify(event)}\n`);
}

function field(fields, name) {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * The event an events stream entry refers to: the entry holds the incident id (`iid`) and the
 * timeline id (`tid`); the event itself is that timeline entry's `event` field. Null when the
 * incident was swept from Redis (the history database has it).
 */
async function resolve(reader, [globalId, fields]) {
  const incidentId = field(fields, 'iid');
  const id = field(fields, 'tid');
  const copy = field(fields, 'event');
  if (incidentId === undefined) return { id, globalId, ...JSON.parse(copy) }; // entries before issue 13
  const [entry] = await reader.xrange(timeline(incidentId), id, id);
  if (!entry) return null;
  return { id, globalId, incidentId, ...JSON.parse(field(entry[1], 'event')) };
}

/** Prints every event after `last` from the events stream, then the live messages held meanwhile. */
async function catchUp(reader) {
  if (last !== null) {
    const [oldest] = await reader.xrange(stream, '-', '+', 'COUNT', 1);
    if (oldest && compareIds(oldest[0], last) > 0)
      process.stderr.write(
        `the events stream starts at ${oldest[0]}, after ${last}: older events may be trimmed; read them from the history database (incident_events)\n`,
      );
    for (;;) {
      const page = await reader.xrange(stream, `(${last}`, '+', 'COUNT', 200);
      for (const entry of page) {
        const event = await resolve(reader, entry);
        if (event) handle(event);
        else last = entry[0];
      }
      if (page.length < 200) break;
    }
  }
  const held = buffered ?? [];
  buffered = null;
  for (const event of held) handle(event);
  process.stderr.write(`caught up${last ? ` to ${last}` : ''}; live on ${channel}\n`);
}

const reader = new Redis(url, { connectionName: 'progress-subscriber-reader' });
const sub = new Redis(url, { connectionName: 'progress-subscriber' });
sub.on('message', (_channel, text) => {
  const event = JSON.parse(text);
  if (buffered) buffered.push(event);
  else handle(event);
});
sub.on('error', (err) => process.stderr.write(`redis: ${err.message}\n`));
reader.on('error', (err) => process.stderr.write(`redis: ${err.message}\n`));

let first = true;
sub.on('ready', () => {
  if (first) return;
  // Reconnected: ioredis subscribes again by itself; what was published meanwhile is only in the
  // stream. The PING answers once the SUBSCRIBE before it took effect, so nothing falls between.
  buffered = [];
  process.stderr.write('reconnected; catching up\n');
  sub
    .ping()
    .then(() => catchUp(reader))
    .catch((err) => {
      process.stderr.write(`catch-up failed: ${err.message}\n`);
      process.exitCode = 1;
      sub.disconnect();
      reader.disconnect();
    });
});

buffered = [];
await sub.subscribe(channel);
first = false;
process.stderr.write(`subscribed to ${channel}\n`);
await catchUp(reader);

for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    sub.disconnect();
    reader.disconnect();
  });
