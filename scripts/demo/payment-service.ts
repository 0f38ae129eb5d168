import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The demo's "payment service": an HTTP server whose /metrics look like a real one under traffic.
 * It also stands in for the exporters a cluster would run beside it (kube-state-metrics' pod
 * readiness, postgres_exporter's connection counts), so one scrape target is enough.
 *
 * Traffic is simulated (no requests are really served): every 100 ms a handful of request
 * latencies are drawn from the current phase's distribution and observed in the histogram.
 * The phases run on a schedule: healthy, then degraded (slow, the database pool nearly full, a few
 * 5xx), then healthy again.
 */

export type Phase = 'healthy' | 'degraded' | 'recovered';

export interface Schedule {
  healthyMs: number;
  degradedMs: number;
}

interface Profile {
  /** Median latency in seconds; the spread is log-normal. */
  medianS: number;
  errorRate: number;
  dbConnections: number;
}

const PROFILES: Record<Phase, Profile> = {
  healthy: { medianS: 0.12, errorRate: 0.001, dbConnections: 22 },
  degraded: { medianS: 2.8, errorRate: 0.05, dbConnections: 96 },
  recovered: { medianS: 0.12, errorRate: 0.001, dbConnections: 25 },
};

const LABELS = { service: 'payment-service', namespace: 'production' } as const;
const REQUESTS_PER_TICK = 8;
const TICK_MS = 100;

/** A latency drawn from a log-normal distribution around `median` (Box–Muller). */
function sampleLatency(median: number): number {
  const u = 1 - Math.random();
  const v = Math.random();
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return median * Math.exp(0.35 * normal);
}

export interface PaymentService {
  /** `127.0.0.1:<port>`, the scrape target. */
  target: string;
  phase(): Phase;
  /** Starts the schedule; `onPhase` hears each change (healthy first). */
  start(onPhase: (phase: Phase, profile: Profile) => void): void;
  close(): Promise<void>;
}

/** Starts the service on a free loopback port; the schedule waits for `start()`. */
export async function startPaymentService(schedule: Schedule): Promise<PaymentService> {
  const registry = new Registry();
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Latency of payment API requests',
    labelNames: ['service', 'namespace', 'route'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Payment API requests by status',
    labelNames: ['service', 'namespace', 'status'],
    registers: [registry],
  });
  const activity = new Gauge({
    name: 'pg_stat_activity_count',
    help: 'Connections to the payments database (as postgres_exporter reports it)',
    labelNames: ['datname'],
    registers: [registry],
  });
  const maxConnections = new Gauge({
    name: 'pg_settings_max_connections',
    help: 'max_connections of the payments database',
    registers: [registry],
  });
  const ready = new Gauge({
    name: 'kube_pod_status_ready',
    help: 'Pod readiness (as kube-state-metrics reports it)',
    labelNames: ['namespace', 'pod', 'condition'],
    registers: [registry],
  });
  maxConnections.set(100);
  for (const pod of ['payment-service-7d9f-a', 'payment-service-7d9f-b', 'payment-service-7d9f-c'])
    ready.set({ namespace: LABELS.namespace, pod, condition: 'true' }, 1);

  let current: Phase = 'healthy';
  const timers: NodeJS.Timeout[] = [];
  const tick = () => {
    const profile = PROFILES[current];
    activity.set({ datname: 'payments' }, profile.dbConnections);
    for (let i = 0; i < REQUESTS_PER_TICK; i++) {
      duration.observe({ ...LABELS, route: '/v1/payments' }, sampleLatency(profile.medianS));
      const status = Math.random() < profile.errorRate ? '503' : '200';
      requests.inc({ ...LABELS, status });
    }
  };
  tick();
  // Both 2xx and 5xx series exist from the start, so the error-rate query never divides nothing.
  requests.inc({ ...LABELS, status: '503' }, 0);
  timers.push(setInterval(tick, TICK_MS));

  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500).end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    target: `127.0.0.1:${port}`,
    phase: () => current,
    start(onPhase) {
      const enter = (phase: Phase) => {
        current = phase;
        onPhase(phase, PROFILES[phase]);
      };
      enter('healthy');
      timers.push(setTimeout(() => enter('degraded'), schedule.healthyMs));
      timers.push(setTimeout(() => enter('recovered'), schedule.healthyMs + schedule.degradedMs));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
