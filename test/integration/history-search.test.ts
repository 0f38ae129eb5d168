import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../helpers/api.ts';
import { HISTORY_BACKENDS } from '../helpers/history.ts';
import {
  archiveItem,
  type HistoryApi,
  historyApi,
  type IncidentSpec,
  statsRunbook,
} from '../helpers/history-fixtures.ts';

const redisUrl = inject('redisUrl');

const day = (d: number, hour = 10) =>
  `2026-11-${String(d).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;

const NAMED: IncidentSpec[] = [
  {
    id: 'inc-pod',
    runbookId: 'db-pool',
    service: 'payments',
    createdAt: day(2),
    labels: { alertname: 'DbPoolExhausted', pod: 'db-7', namespace: 'prod' },
    annotations: { summary: 'Connection pool saturated on the primary' },
  },
  {
    id: 'inc-disk',
    runbookId: 'disk-full',
    service: 'storage',
    severity: 'P2',
    createdAt: day(3),
    labels: { alertname: 'DiskFull', host: 'db-8', namespace: 'prod' },
    annotations: { summary: 'Volume data-01 almost full' },
  },
  {
    // LIKE's metacharacters in a label: only a search for them, literally, finds these.
    id: 'inc-percent',
    runbookId: 'disk-full',
    service: 'storage',
    createdAt: day(4),
    labels: { alertname: 'DiskFull', usage: '100%_used' },
  },
  {
    id: 'inc-lookalike',
    runbookId: 'disk-full',
    service: 'storage',
    createdAt: day(5),
    labels: { alertname: 'DiskFull', usage: '1000xused' },
  },
];

/** 25 incidents of one runbook, four opened at each instant (the cursor must tell them apart). */
const BULK: IncidentSpec[] = Array.from({ length: 25 }, (_, n) => ({
  id: `inc-bulk-${String(n).padStart(2, '0')}`,
  runbookId: 'queue-lag',
  service: 'queues',
  createdAt: day(10 + Math.floor(n / 4)),
  labels: { alertname: 'QueueLag', queue: `orders-${n}` },
}));

describe.each(HISTORY_BACKENDS)('GET /api/v1/history on $name', (backend) => {
  let fx: HistoryApi;
  beforeAll(async () => {
    fx = await historyApi(redisUrl, backend, {
      runbooks: [statsRunbook('db-pool', 'payments')],
      incidents: [...NAMED, ...BULK],
    });
  }, 60_000);
  afterAll(() => fx?.close());

  const search = async (query: string) => {
    const res = await call(fx.url, 'GET', `/api/v1/history?${query}`);
    expect(res.status, res.text).toBe(200);
    return res.body as { items: { id: string }[]; nextCursor: string | null };
  };
  const ids = async (query: string) => (await search(query)).items.map((i) => i.id);

  it('finds incidents by label value, annotation word, runbook, and all words together', async () => {
    expect(await ids('q=db-7')).toEqual(['inc-pod']);
    expect(await ids('q=SATURATED')).toEqual(['inc-pod']);
    expect(await ids('q=disk-full')).toEqual(['inc-lookalike', 'inc-percent', 'inc-disk']);
    expect(await ids(`q=${encodeURIComponent('prod db-')}`), 'both words, each anywhere').toEqual([
      'inc-disk',
      'inc-pod',
    ]);
    expect(await ids(`q=${encodeURIComponent('prod volume')}`)).toEqual(['inc-disk']);
    expect(await ids(`q=${encodeURIComponent('prod nowhere')}`)).toEqual([]);
    expect(await ids('q=prod&runbook=db-pool')).toEqual(['inc-pod']);
    expect(await ids('q=prod&service=storage&severity=P2')).toEqual(['inc-disk']);
  });

  it('answers each incident record as archived', async () => {
    const [item] = (await search('q=db-7')).items;
    expect(item).toEqual(archiveItem(NAMED[0]!).incident);
  });

  it('matches % and _ literally', async () => {
    expect(await ids(`q=${encodeURIComponent('100%_used')}`)).toEqual(['inc-percent']);
    expect(await ids(`q=${encodeURIComponent('0%')}`)).toEqual(['inc-percent']);
    expect(await ids(`q=${encodeURIComponent('0_u')}`), '_ is not any one character').toEqual([]);
    expect(await ids(`q=${encodeURIComponent('%')}`)).toEqual(['inc-percent']);
    expect(await ids(`q=${encodeURIComponent('\\')}`)).toEqual([]);
  });

  it('pages newest first with the cursor, each incident once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = await search(
        `q=queuelag&limit=10${cursor ? `&cursor=${cursor}` : ''}`,
      );
      sizes.push(page.items.length);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([10, 10, 5]);
    // Newest first; at one instant, the larger id first.
    expect(seen).toEqual(BULK.map((b) => b.id).reverse());
  });

  it('narrows to a time range: from inclusive, to exclusive', async () => {
    expect(await ids(`from=${day(3)}&to=${day(5)}`)).toEqual(['inc-percent', 'inc-disk']);
    expect(await ids(`q=disk&from=${day(4)}`)).toEqual(['inc-lookalike', 'inc-percent']);
  });

  it('refuses a bad query with a 400 naming the field', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      ['from=2026-11', 'from'],
      [`q=${encodeURIComponent('a b c d e f g h i j k l m')}`, 'q'],
    ]) {
      const res = await call(fx.url, 'GET', `/api/v1/history?${query}`);
      expect({
        query,
        status: res.status,
        fields: res.body.errors?.map((e: { field: string }) => e.field),
      }).toEqual({ query, status: 400, fields: [field] });
    }
  });
});
