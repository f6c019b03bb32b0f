import type { Logger } from 'pino';
import type { WebhookConfig } from '../../config/index.ts';
import type { Clock } from '../../kernel/clock.ts';
import { randomToken } from '../../kernel/ids.ts';
import type { Keyring } from '../../kernel/sealing.ts';
import type { Db } from '../../storage/db.ts';
import { WebhookDeliveriesRepo, type AttemptResult, type ClaimedDelivery, type NewDelivery } from '../../storage/webhook-deliveries-repo.ts';
import { publicEventsOf } from './catalogue.ts';
import { DestinationPolicy } from './destinations.ts';
import { parseRetryAfter, retryDelayMs } from './schedule.ts';
import { postMessage, type AttemptOutcome } from './sender.ts';
import { webhookHeaders } from './signing.ts';
import type { Metrics } from '../../telemetry/metrics.ts';

export type WebhookSettings = WebhookConfig;

export interface WorkerDeps {
  db: Db;
  keyring: Keyring;
  clock: Clock;
  logger: Logger;
  settings: WebhookSettings;
  random?: () => number;
  /** Attempts are counted by outcome (`/metrics`). */
  metrics?: Metrics | undefined;
}

/** A delivery's state after an attempt, as the attempts metric names the outcome. */
const ATTEMPT_OUTCOME = { delivered: 'delivered', pending: 'retrying', failed: 'failed' } as const;

/** What the outbox trigger notifies on (migration 015). */
const OUTBOX_CHANNEL = 'idflow_outbox';
/** Events taken from the outbox per transaction. */
const FAN_OUT_BATCH = 500;
/** A claimed delivery whose worker vanished is taken up again this long after its attempt could have ended. */
const LEASE_MARGIN_MS = 5_000;

/**
 * Turns committed events into deliveries and sends them. Every node may run one: fan-out
 * is done by one node at a time, and each delivery is claimed by one worker at a time. A
 * slow receiver holds at most `concurrencyPerEndpoint` of this node's `concurrency` slots,
 * and no request ever waits for a delivery: they only wrote an event.
 */
export class DeliveryWorker {
  readonly #d: WorkerDeps;
  readonly #policy: DestinationPolicy;
  readonly #inFlight = new Map<string, number>();
  readonly #sends = new Set<Promise<void>>();
  #total = 0;
  #pumping: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(deps: WorkerDeps) {
    this.#d = deps;
    this.#policy = new DestinationPolicy(deps.settings.allowedNetworks);
  }

  /**
   * Polls every `pollMs`, and wakes up at once when an event commits anywhere (the outbox
   * trigger's NOTIFY): a notification can be lost, polling cannot.
   */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#timer = setInterval(() => this.#pump(), this.#d.settings.pollMs).unref();
    this.#unlisten = await this.#d.db.listen(OUTBOX_CHANNEL, () => this.#stopped || this.#pump()).catch((err) => {
      this.#d.logger.warn({ err }, 'cannot listen for new events; deliveries start at the next poll');
      return undefined;
    });
    this.#pump();
  }

  /** Stops taking work; waits for attempts in flight (an unfinished one is retried after its lease). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#unlisten?.().catch(() => {});
    await this.#pumping;
    await Promise.race([Promise.allSettled(this.#sends), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  }

  /** Fans out, sends what is due and waits for those attempts (tests drive time with it). */
  async runOnce(): Promise<void> {
    for (;;) {
      await this.#pumpNow();
      // A finished attempt starts a round of its own; wait for that one too.
      await this.#pumping;
      if (this.#sends.size === 0) return;
      await Promise.allSettled(this.#sends);
    }
  }

  /** Moves every committed event in the outbox to deliveries of the subscriptions that want it. */
  async fanOut(): Promise<number> {
    let moved = 0;
    for (;;) {
      const count = await this.#d.db.transaction(async (tx) => {
        const repo = new WebhookDeliveriesRepo(tx, this.#d.keyring);
        if (!(await repo.tryLockFanOut())) return 0;
        const events = await repo.outbox(FAN_OUT_BATCH);
        if (events.length === 0) return 0;
        const published = events.flatMap((event) => publicEventsOf(event).map((message) => ({ event, message })));
        const counts = new Map<string, number>();
        for (const { message } of published) counts.set(message.subject, (counts.get(message.subject) ?? 0) + 1);
        const last = await repo.takeSequences(counts);
        const next = new Map([...counts].map(([subject, count]) => [subject, last.get(subject)! - count + 1]));
        const subscriptions = published.length ? await repo.liveSubscriptions() : [];
        const deliveries: NewDelivery[] = [];
        for (const { event, message } of published) {
          const sequence = next.get(message.subject)!;
          next.set(message.subject, sequence + 1);
          // A client's events go to its own subscriptions only; a platform event to those naming it.
          const wanted = subscriptions.filter((s) =>
            message.clientId === undefined ? s.eventTypes.includes(message.type) : s.clientId === message.clientId && (s.eventTypes.includes(message.type) || s.eventTypes.includes('*')),
          );
          if (wanted.length === 0) continue;
          const body = JSON.stringify({ type: message.type, timestamp: event.createdAt.toISOString(), data: { subject: message.subject, sequence, ...message.data } });
          const messageId = `msg_${randomToken(18)}`;
          for (const s of wanted) deliveries.push({ messageId, subscriptionId: s.id, eventId: event.id, eventType: message.type, body });
        }
        await repo.fanOut(deliveries, events.map((e) => e.id), this.#d.clock.now());
        return events.length;
      });
      moved += count;
      if (count < FAN_OUT_BATCH) return moved;
    }
  }

  #pump(): void {
    this.#pumpNow().catch((err) => this.#d.logger.warn({ err }, 'webhook delivery round failed; retrying at the next poll'));
  }

  /** One round at a time; a round asked for while one runs makes it go round again. */
  #pumpNow(): Promise<void> {
    if (this.#pumping) {
      this.#again = true;
      return this.#pumping;
    }
    this.#pumping = (async () => {
      try {
        do {
          this.#again = false;
          await this.fanOut();
          const free = this.#d.settings.concurrency - this.#total;
          if (free <= 0 || this.#stopped) continue;
          const now = this.#d.clock.now();
          const claimed = await new WebhookDeliveriesRepo(this.#d.db, this.#d.keyring).claim({
            now,
            leaseUntil: new Date(now.getTime() + this.#d.settings.timeoutMs + LEASE_MARGIN_MS),
            limit: free,
            perSubscription: this.#d.settings.concurrencyPerEndpoint,
            busy: this.#inFlight,
          });
          for (const delivery of claimed) this.#send(delivery);
        } while (this.#again && !this.#stopped);
      } finally {
        this.#pumping = undefined;
      }
    })();
    return this.#pumping;
  }

  #send(delivery: ClaimedDelivery): void {
    this.#total += 1;
    this.#inFlight.set(delivery.subscriptionId, (this.#inFlight.get(delivery.subscriptionId) ?? 0) + 1);
    const sent = this.#attempt(delivery)
      .catch((err) => this.#d.logger.warn({ err, deliveryId: delivery.id }, 'webhook attempt could not be recorded; it is retried after its lease'))
      .finally(() => {
        this.#total -= 1;
        const left = this.#inFlight.get(delivery.subscriptionId)! - 1;
        if (left) this.#inFlight.set(delivery.subscriptionId, left);
        else this.#inFlight.delete(delivery.subscriptionId);
        this.#sends.delete(sent);
        // A slot is free: take the next due delivery now rather than at the next poll.
        if (!this.#stopped) this.#pump();
      });
    this.#sends.add(sent);
  }

  async #attempt(delivery: ClaimedDelivery): Promise<void> {
    const { clock, logger, settings } = this.#d;
    const attemptedAt = clock.now();
    const headers = webhookHeaders(delivery.secrets, delivery.messageId, attemptedAt, delivery.body);
    const outcome = await postMessage(new URL(delivery.url), headers, delivery.body, { policy: this.#policy, timeoutMs: settings.timeoutMs });
    const now = clock.now();
    const result = judge(outcome, delivery.attempts, now, settings.disableAfterMs, this.#d.random);
    const { disabled } = await new WebhookDeliveriesRepo(this.#d.db, this.#d.keyring).recordAttempt(
      delivery,
      { ...result, attempt: { attemptedAt, status: outcome.status, durationMs: outcome.durationMs, responseHead: outcome.responseHead, error: outcome.error } },
      now,
    );
    this.#d.metrics?.webhookAttempts.inc({ outcome: ATTEMPT_OUTCOME[result.delivery.state] });
    const about = { deliveryId: delivery.id, subscriptionId: delivery.subscriptionId, clientId: delivery.clientId, messageId: delivery.messageId, attempt: delivery.attempts, status: outcome.status, error: outcome.error, ms: outcome.durationMs };
    if (result.delivery.state === 'delivered') logger.debug({ event: 'webhook.delivered', ...about }, 'webhook delivered');
    else logger.info({ event: 'webhook.attempt_failed', ...about, state: result.delivery.state }, 'webhook attempt failed');
    if (disabled) logger.warn({ event: 'webhook.subscription_disabled', subscriptionId: delivery.subscriptionId, clientId: delivery.clientId }, 'webhook subscription disabled');
  }
}

/** What an answer means: 2xx delivered; 410 Gone ends the subscription; anything else is retried on schedule. */
export function judge(outcome: AttemptOutcome, attemptsMade: number, now: Date, disableAfterMs: number, random?: () => number): Omit<AttemptResult, 'attempt'> {
  const status = outcome.status;
  if (status !== undefined && status >= 200 && status < 300) return { delivery: { state: 'delivered' }, endpoint: { health: 'ok' } };
  if (status === 410) return { delivery: { state: 'failed' }, endpoint: { health: 'gone' } };
  const delay = retryDelayMs(attemptsMade, parseRetryAfter(outcome.retryAfter, now), random);
  return {
    delivery: delay === undefined ? { state: 'failed' } : { state: 'pending', nextAttemptAt: new Date(now.getTime() + delay) },
    endpoint: { health: 'failing', disableIfFailingSince: new Date(now.getTime() - disableAfterMs) },
  };
}
