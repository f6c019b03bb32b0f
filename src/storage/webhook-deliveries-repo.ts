import { userIdFromUuid } from '../kernel/ids.ts';
import type { Keyring } from '../kernel/sealing.ts';
import { ADVISORY_LOCKS } from './advisory-locks.ts';
import type { Queryable } from './db.ts';
import { eventOfRows, type EventRecord } from './events-repo.ts';
import { signingSecrets, type SubscriptionRow } from './webhook-subscriptions-repo.ts';

/** An event waiting in the outbox to be fanned out: the `events` row it was written with. */
export type OutboxEvent = EventRecord;

export interface NewDelivery {
  messageId: string;
  subscriptionId: string;
  eventId: number;
  eventType: string;
  body: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: number;
  messageId: string;
  subscriptionId: string;
  clientId: string;
  eventId: number;
  eventType: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: Date;
  createdAt: Date;
  deliveredAt: Date | undefined;
}

/** A delivery a worker took, with what it needs to send it. */
export interface ClaimedDelivery extends DeliveryRecord {
  url: string;
  secrets: string[];
}

export interface AttemptRecord {
  id: number;
  deliveryId: number;
  attemptedAt: Date;
  status: number | undefined;
  durationMs: number;
  responseHead: string | undefined;
  error: string | undefined;
}

/** How an attempt ends for its delivery and for the subscription. */
export interface AttemptResult {
  attempt: Omit<AttemptRecord, 'id' | 'deliveryId'>;
  /** `retry`: pending again at `nextAttemptAt`. */
  delivery: { state: 'delivered' } | { state: 'pending'; nextAttemptAt: Date } | { state: 'failed' };
  /** `ok` clears the endpoint's failing streak; `failing` disables it once it started before `disableIfFailingSince`; `gone` disables it now. */
  endpoint: { health: 'ok' } | { health: 'failing'; disableIfFailingSince: Date } | { health: 'gone' };
}

interface DeliveryRow {
  id: number;
  message_id: string;
  subscription_id: string;
  client_id: string;
  event_id: number;
  event_type: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: Date;
  created_at: Date;
  delivered_at: Date | null;
}

/**
 * The outbox, deliveries and attempts. Fan-out (events → deliveries) runs in one transaction
 * at a time across all nodes; sending is claimed row by row with `FOR UPDATE SKIP LOCKED`, so
 * any number of workers share deliveries without taking the same one twice.
 */
export class WebhookDeliveriesRepo {
  readonly #db: Queryable;
  readonly #keyring: Keyring;

  constructor(db: Queryable, keyring: Keyring) {
    this.#db = db;
    this.#keyring = keyring;
  }

  /** Inside a transaction: true when this one may fan out now (another node may be at it). */
  async tryLockFanOut(): Promise<boolean> {
    const [row] = await this.#db.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1) as locked', [ADVISORY_LOCKS.notificationFanOut]);
    return row!.locked;
  }

  /** The oldest events not yet fanned out. */
  async outbox(limit: number): Promise<OutboxEvent[]> {
    const rows = await this.#db.query<{ id: number; type: string | null; client_id: string | null; user_id: string | null; flow_id: string | null; payload: Record<string, unknown> | null; created_at: Date | null }>(
      `select o.event_id as id, e.type, e.client_id, e.user_id, e.flow_id, e.payload, e.created_at
       from notification_outbox o left join events e on e.id = o.event_id order by o.event_id limit $1`,
      [limit],
    );
    // An event deleted meanwhile has nothing left to say; its outbox row still goes.
    return rows.map((r) => ({
      id: r.id,
      type: r.type ?? '',
      clientId: r.client_id ?? undefined,
      userId: r.user_id ? userIdFromUuid(r.user_id) : undefined,
      flowId: r.flow_id ?? undefined,
      payload: r.payload ?? {},
      createdAt: r.created_at ?? new Date(0),
    }));
  }

  /** Every subscription that takes new messages: id, client and the types it asked for. */
  async liveSubscriptions(): Promise<{ id: string; clientId: string; eventTypes: string[] }[]> {
    const rows = await this.#db.query<{ id: string; client_id: string; event_types: string[] }>('select id, client_id, event_types from webhook_subscriptions where disabled_at is null');
    return rows.map((r) => ({ id: r.id, clientId: r.client_id, eventTypes: r.event_types }));
  }

  /** Takes `count` sequence numbers for each subject; returns the last one taken per subject. */
  async takeSequences(counts: Map<string, number>): Promise<Map<string, number>> {
    if (counts.size === 0) return new Map();
    const rows = await this.#db.query<{ subject: string; last: number }>(
      `insert into notification_sequences as s (subject, last) select * from unnest($1::text[], $2::bigint[])
       on conflict (subject) do update set last = s.last + excluded.last returning subject, last`,
      [[...counts.keys()], [...counts.values()]],
    );
    return new Map(rows.map((r) => [r.subject, Number(r.last)]));
  }

  /** Writes deliveries and empties the outbox of the events they came from, in one statement. */
  async fanOut(deliveries: NewDelivery[], eventIds: number[], now: Date): Promise<void> {
    await this.#db.query(
      `with added as (
         insert into webhook_deliveries (message_id, subscription_id, event_id, event_type, body, state, next_attempt_at, created_at)
         select m, s, e, t, b, 'pending', $6, $6 from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) as d(m, s, e, t, b)
         on conflict (subscription_id, message_id) do nothing
       )
       delete from notification_outbox where event_id = any($7::bigint[])`,
      [deliveries.map((d) => d.messageId), deliveries.map((d) => d.subscriptionId), deliveries.map((d) => d.eventId), deliveries.map((d) => d.eventType), deliveries.map((d) => d.body), now, eventIds],
    );
  }

  /**
   * Takes deliveries that are due, at most `perSubscription` of each subscription less what
   * this worker already has in flight for it (`busy`), and pushes their next attempt to
   * `leaseUntil`: if the worker dies, another takes them up then, with the same message id.
   */
  async claim(options: { now: Date; leaseUntil: Date; limit: number; perSubscription: number; busy: Map<string, number> }): Promise<ClaimedDelivery[]> {
    const rows = await this.#db.query<DeliveryRow & SubscriptionRow & { url: string }>(
      `with ranked as (
         -- Only the first few due deliveries of each subscription are candidates, read off an
         -- index: ranking every pending delivery made each claim slower as a backlog grew.
         select d.id, row_number() over (partition by s.id order by d.next_attempt_at, d.id) + coalesce(b.n, 0) as place
         from webhook_subscriptions s
         cross join lateral (
           select d.id, d.next_attempt_at from webhook_deliveries d
           where d.subscription_id = s.id and d.state = 'pending' and d.next_attempt_at <= $1
           order by d.next_attempt_at, d.id limit $4
         ) d
         left join unnest($5::text[], $6::int[]) as b(id, n) on b.id = s.id
         where s.disabled_at is null
       ), due as (
         select d.id from webhook_deliveries d join ranked r on r.id = d.id
         where r.place <= $4 and d.state = 'pending' and d.next_attempt_at <= $1
         order by d.next_attempt_at, d.id limit $3
         for update of d skip locked
       )
       update webhook_deliveries d set next_attempt_at = $2, attempts = d.attempts + 1
       from due, webhook_subscriptions s
       where d.id = due.id and s.id = d.subscription_id
       returning d.*, s.client_id, s.url, s.secret_sealed, s.previous_secret_sealed, s.previous_expires_at`,
      [options.now, options.leaseUntil, options.limit, options.perSubscription, [...options.busy.keys()], [...options.busy.values()]],
    );
    return rows.map((r) => ({ ...toDelivery(r), url: r.url, secrets: signingSecrets(this.#keyring, { ...r, id: r.subscription_id }, options.now) }));
  }

  /**
   * Records one attempt, moves its delivery on and keeps the subscription's health, in one
   * statement; a subscription disabled by it records `webhook.subscription_disabled` in the
   * same statement. Returns whether that happened.
   */
  async recordAttempt(delivery: Pick<DeliveryRecord, 'id' | 'subscriptionId'>, result: AttemptResult, now: Date): Promise<{ disabled: boolean }> {
    const { attempt, endpoint } = result;
    const state = result.delivery.state;
    const ok = endpoint.health === 'ok';
    const gone = endpoint.health === 'gone';
    const threshold = endpoint.health === 'failing' ? endpoint.disableIfFailingSince : now;
    const disabledEvent = eventOfRows(
      { cte: 'disabled', clientId: 'client_id' },
      { type: 'webhook.subscription_disabled', payload: { subscriptionId: delivery.subscriptionId, reason: gone ? 'gone' : 'failing' } },
      now,
      13,
    );
    const rows = await this.#db.query<{ disabled: boolean }>(
      `with attempt as (
         insert into webhook_attempts (delivery_id, attempted_at, status, duration_ms, response_head, error) values ($1, $3, $4, $5, $6, $7)
       ), delivery as (
         update webhook_deliveries set state = $8, next_attempt_at = coalesce($9, next_attempt_at), delivered_at = case when $8 = 'delivered' then $3 else delivered_at end
         where id = $1 and state = 'pending'
       ), was as (
         select id, disabled_at, failing_since from webhook_subscriptions where id = $2
       ), subscription as (
         update webhook_subscriptions s set
           failing_since = case when $10 then null else coalesce(s.failing_since, $3) end,
           disabled_at = case when s.disabled_at is null and ($11 or (not $10 and coalesce(s.failing_since, $3) <= $12)) then $3 else s.disabled_at end,
           disabled_reason = case when s.disabled_at is null and ($11 or (not $10 and coalesce(s.failing_since, $3) <= $12)) then (case when $11 then 'gone' else 'failing' end) else s.disabled_reason end
         from was where s.id = was.id
           -- Only a change of health is written: a healthy endpoint's row is left alone.
           and (($10 and s.failing_since is not null) or (not $10 and s.failing_since is null)
                or (s.disabled_at is null and ($11 or (not $10 and s.failing_since <= $12))))
         returning s.id, s.client_id, (was.disabled_at is null and s.disabled_at is not null) as newly_disabled
       ), disabled as (
         select * from subscription where newly_disabled
       ), ${disabledEvent.sql}
       select exists (select 1 from disabled) as disabled`,
      [
        delivery.id,
        delivery.subscriptionId,
        attempt.attemptedAt,
        attempt.status ?? null,
        attempt.durationMs,
        attempt.responseHead ?? null,
        attempt.error ?? null,
        state,
        result.delivery.state === 'pending' ? result.delivery.nextAttemptAt : null,
        ok,
        gone,
        threshold,
        ...disabledEvent.params,
      ],
    );
    return { disabled: rows[0]?.disabled === true };
  }

  async find(id: number): Promise<DeliveryRecord | undefined> {
    const [row] = await this.#db.query<DeliveryRow>(
      'select d.*, s.client_id from webhook_deliveries d join webhook_subscriptions s on s.id = d.subscription_id where d.id = $1',
      [id],
    );
    return row && toDelivery(row);
  }

  /** Deliveries, newest first, filtered; `before` is the id to page from (exclusive). */
  async list(filter: { subscriptionId?: string | undefined; clientId?: string | undefined; state?: DeliveryState | undefined; messageId?: string | undefined; before?: number | undefined; limit: number }): Promise<DeliveryRecord[]> {
    const rows = await this.#db.query<DeliveryRow>(
      `select d.*, s.client_id from webhook_deliveries d join webhook_subscriptions s on s.id = d.subscription_id
       where ($1::text is null or d.subscription_id = $1) and ($2::text is null or s.client_id = $2) and ($3::text is null or d.state = $3)
         and ($4::text is null or d.message_id = $4) and ($5::bigint is null or d.id < $5)
       order by d.id desc limit $6`,
      [filter.subscriptionId ?? null, filter.clientId ?? null, filter.state ?? null, filter.messageId ?? null, filter.before ?? null, filter.limit],
    );
    return rows.map(toDelivery);
  }

  async attempts(deliveryId: number): Promise<AttemptRecord[]> {
    const rows = await this.#db.query<{ id: number; delivery_id: number; attempted_at: Date; status: number | null; duration_ms: number; response_head: string | null; error: string | null }>(
      'select * from webhook_attempts where delivery_id = $1 order by id',
      [deliveryId],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      deliveryId: Number(r.delivery_id),
      attemptedAt: r.attempted_at,
      status: r.status ?? undefined,
      durationMs: r.duration_ms,
      responseHead: r.response_head ?? undefined,
      error: r.error ?? undefined,
    }));
  }

  /**
   * Due again now, with a fresh schedule and the same message id: the deliveries `which`
   * selects (one by id, or a subscription's that did not get through since a time).
   */
  async requeue(which: { deliveryId: number } | { subscriptionId: string; since: Date }, now: Date): Promise<number> {
    const rows =
      'deliveryId' in which
        ? await this.#db.query("update webhook_deliveries set state = 'pending', attempts = 0, next_attempt_at = $2, delivered_at = null where id = $1 returning 1", [which.deliveryId, now])
        : await this.#db.query(
            "update webhook_deliveries set state = 'pending', attempts = 0, next_attempt_at = $3 where subscription_id = $1 and created_at >= $2 and state = 'failed' returning 1",
            [which.subscriptionId, which.since, now],
          );
    return rows.length;
  }

  /** How many deliveries wait, and since when the oldest due one does (for monitoring). */
  async backlog(now: Date): Promise<{ pending: number; oldestDueAt: Date | undefined; outbox: number }> {
    const [row] = await this.#db.query<{ pending: number; oldest: Date | null; outbox: number }>(
      `select (select count(*) from webhook_deliveries where state = 'pending')::int as pending,
              (select min(next_attempt_at) from webhook_deliveries where state = 'pending' and next_attempt_at <= $1) as oldest,
              (select count(*) from notification_outbox)::int as outbox`,
      [now],
    );
    return { pending: row!.pending, oldestDueAt: row!.oldest ?? undefined, outbox: row!.outbox };
  }
}

function toDelivery(r: DeliveryRow): DeliveryRecord {
  return {
    id: Number(r.id),
    messageId: r.message_id,
    subscriptionId: r.subscription_id,
    clientId: r.client_id,
    eventId: Number(r.event_id),
    eventType: r.event_type,
    body: r.body,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at ?? undefined,
  };
}
