import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The webhook queue as the database holds it (`WebhookDeliveriesRepo.backlog`). */
export interface WebhookBacklog {
  pending: number;
  oldestDueAt: Date | undefined;
  outbox: number;
}

/**
 * Every Prometheus metric of the platform, declared once (docs/operations.md lists them).
 * Counters are per process: with several nodes, sum them across instances. The webhook
 * queue gauges are read from the database when `/metrics` is scraped, so every node
 * reports the same shared queue (aggregate them with max, not sum).
 *
 * Label values are bounded sets (outcomes, grant types, limit names, route templates),
 * never ids or raw paths.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  /** Password sign-ins by `outcome`: `success`, `failure` (wrong credentials), `throttled`. */
  readonly signIns: Counter<'outcome'>;
  /** Tokens issued by the OAuth token endpoint, by `grant_type`. */
  readonly tokensIssued: Counter<'grant_type'>;
  /** Requests a limit refused, by `limit` (its catalogue name). */
  readonly throttleHits: Counter<'limit'>;
  /** Reuse of a single-use code or a refresh token, by `kind`. */
  readonly reuseDetections: Counter<'kind'>;
  /** Verifications that ended without verifying the person, by `provider` and `state`. */
  readonly verificationFailures: Counter<'provider' | 'state'>;
  /** Webhook attempts by `outcome`: `delivered`, `retrying`, `failed` (given up or 410). */
  readonly webhookAttempts: Counter<'outcome'>;

  constructor(options: { backlog?: () => Promise<WebhookBacklog>; now: () => Date }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'idflow_' });
    this.requestDuration = new Histogram({
      name: 'idflow_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.signIns = new Counter({ name: 'idflow_sign_ins_total', help: 'Password sign-ins by outcome (success, failure, throttled)', labelNames: ['outcome'], registers });
    this.tokensIssued = new Counter({ name: 'idflow_tokens_issued_total', help: 'Token endpoint grants that issued tokens, by grant type', labelNames: ['grant_type'], registers });
    this.throttleHits = new Counter({ name: 'idflow_throttle_hits_total', help: 'Requests refused by a limit, by limit name', labelNames: ['limit'], registers });
    this.reuseDetections = new Counter({ name: 'idflow_reuse_detections_total', help: 'Single-use codes and refresh tokens presented again, by kind', labelNames: ['kind'], registers });
    this.verificationFailures = new Counter({ name: 'idflow_verification_failures_total', help: 'Verifications that did not verify the person, by provider and final state', labelNames: ['provider', 'state'], registers });
    this.webhookAttempts = new Counter({ name: 'idflow_webhook_attempts_total', help: 'Webhook delivery attempts by outcome (delivered, retrying, failed)', labelNames: ['outcome'], registers });

    const backlog = options.backlog;
    if (!backlog) return;
    // A scrape collects every metric at once (prom-client's Promise.all): both gauges share
    // the read in flight, and the next scrape reads afresh.
    let inFlight: Promise<WebhookBacklog> | undefined;
    const latest = () => {
      inFlight ??= backlog().finally(() => (inFlight = undefined));
      return inFlight;
    };
    new Gauge({
      name: 'idflow_webhook_queue_depth',
      help: 'Webhook work waiting, shared by every node: pending deliveries, and events not yet fanned out (outbox)',
      labelNames: ['queue'],
      registers,
      async collect() {
        const b = await latest();
        this.set({ queue: 'deliveries' }, b.pending);
        this.set({ queue: 'outbox' }, b.outbox);
      },
    });
    new Gauge({
      name: 'idflow_webhook_oldest_due_seconds',
      help: 'How long the longest-waiting due webhook delivery has been due (0: none waiting)',
      registers,
      async collect() {
        const due = (await latest()).oldestDueAt;
        this.set(due ? Math.max(0, (options.now().getTime() - due.getTime()) / 1000) : 0);
      },
    });
  }
}
