import { isIP } from 'node:net';
import type { Clock } from '../../kernel/clock.ts';
import { AppError } from '../../kernel/errors.ts';
import { randomToken } from '../../kernel/ids.ts';
import { pageOf, type Page, type Paging } from '../../kernel/paging.ts';
import type { Keyring } from '../../kernel/sealing.ts';
import type { ClientsRepo } from '../../storage/clients-repo.ts';
import type { Queryable } from '../../storage/db.ts';
import { WebhookDeliveriesRepo, type AttemptRecord, type DeliveryRecord, type DeliveryState } from '../../storage/webhook-deliveries-repo.ts';
import { WebhookSubscriptionsRepo, type SubscriptionRecord } from '../../storage/webhook-subscriptions-repo.ts';
import { EVENT_TYPES, isEventType } from './catalogue.ts';
import { DestinationPolicy } from './destinations.ts';
import { assertSigningSecret, newSigningSecret } from './signing.ts';

export interface SubscriptionInput {
  url: string;
  eventTypes: string[];
  description?: string | undefined;
}

/** A subscription as shown to an operator: never its secrets. */
export interface SubscriptionView {
  id: string;
  client_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  previous_secret_valid_until: string | null;
  created_at: string;
}

export interface WebhookRules {
  /** Production accepts https endpoints only. */
  requireHttps: boolean;
  allowedNetworks: string[];
}

/** How long the secret a rotation replaces keeps signing, unless told otherwise. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 3600;
const MAX_PAGE = 500;

/**
 * Subscriptions and their deliveries, for every door that manages them (the CLI, the
 * import file, the admin API): one validation, one way to rotate, redeliver and recover.
 */
export class WebhookService {
  readonly #subscriptions: WebhookSubscriptionsRepo;
  readonly #deliveries: WebhookDeliveriesRepo;
  readonly #clients: ClientsRepo;
  readonly #clock: Clock;
  readonly #rules: WebhookRules;
  readonly #policy: DestinationPolicy;

  constructor(deps: { db: Queryable; keyring: Keyring; clients: ClientsRepo; clock: Clock; rules: WebhookRules }) {
    this.#subscriptions = new WebhookSubscriptionsRepo(deps.db, deps.keyring);
    this.#deliveries = new WebhookDeliveriesRepo(deps.db, deps.keyring);
    this.#clients = deps.clients;
    this.#clock = deps.clock;
    this.#rules = deps.rules;
    this.#policy = new DestinationPolicy(deps.rules.allowedNetworks);
  }

  /** A new subscription; its secret (given, or made here) is returned this once. */
  async subscribe(clientId: string, input: SubscriptionInput & { secret?: string | undefined }): Promise<{ subscription: SubscriptionView; secret: string }> {
    const fields = this.#validated(input);
    if (!(await this.#clients.findById(clientId))) throw new AppError('not_found', `No client ${clientId}`);
    if (await this.#subscriptions.findByUrl(clientId, fields.url)) throw new AppError('conflict', `Client ${clientId} already has a subscription for ${fields.url}`);
    if (input.secret !== undefined) assertSigningSecret(input.secret);
    const secret = input.secret ?? newSigningSecret();
    const record = await this.#subscriptions.insert({ id: `sub_${randomToken(12)}`, clientId, ...fields, secret, now: this.#clock.now() });
    return { subscription: view(record), secret };
  }

  /**
   * The import file's way: the subscription of this client and URL made or brought in line
   * with `input`; a different secret is rotated in (the old one keeps signing a while).
   */
  async save(clientId: string, input: SubscriptionInput & { secret: string }): Promise<{ created: boolean }> {
    const existing = await this.#subscriptions.findByUrl(clientId, input.url);
    if (!existing) {
      await this.subscribe(clientId, input);
      return { created: true };
    }
    const fields = this.#validated(input);
    assertSigningSecret(input.secret);
    const same = existing.eventTypes.join(' ') === fields.eventTypes.join(' ') && existing.description === fields.description;
    if (!same) await this.#subscriptions.update(existing.id, fields, this.#clock.now());
    if (existing.secret !== input.secret) await this.rotateSecret(existing.id, { secret: input.secret });
    return { created: false };
  }

  async update(id: string, changes: Partial<SubscriptionInput>): Promise<SubscriptionView> {
    const current = await this.#find(id);
    const fields = this.#validated({
      url: changes.url ?? current.url,
      eventTypes: changes.eventTypes ?? current.eventTypes,
      description: changes.description === undefined ? current.description : changes.description || undefined,
    });
    if (fields.url !== current.url && (await this.#subscriptions.findByUrl(current.clientId, fields.url))) {
      throw new AppError('conflict', `Client ${current.clientId} already has a subscription for ${fields.url}`);
    }
    return view((await this.#subscriptions.update(id, fields, this.#clock.now()))!);
  }

  /**
   * A new signing secret (given, or made here, returned this once); the one it replaces keeps
   * signing for `overlapSeconds`, so messages carry both signatures while receivers switch.
   */
  async rotateSecret(id: string, options: { secret?: string | undefined; overlapSeconds?: number | undefined } = {}): Promise<{ secret: string; previousValidUntil: Date }> {
    const overlap = options.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS;
    if (!Number.isInteger(overlap) || overlap < 0 || overlap > 7 * 86400) {
      throw new AppError('validation_failed', 'The overlap is whole seconds from 0 to 604800', { fields: [{ field: '/overlap', message: 'must be whole seconds from 0 to 604800' }] });
    }
    if (options.secret !== undefined) assertSigningSecret(options.secret);
    const current = await this.#find(id);
    const secret = options.secret ?? newSigningSecret();
    const now = this.#clock.now();
    const previousValidUntil = new Date(now.getTime() + overlap * 1000);
    if (!(await this.#subscriptions.rotateSecret(current, secret, previousValidUntil, now))) {
      throw new AppError('conflict', 'The subscription changed meanwhile; try again');
    }
    return { secret, previousValidUntil };
  }

  /** Enabling again forgets the failures that disabled it; deliveries waiting resume. */
  async setEnabled(id: string, enabled: boolean): Promise<SubscriptionView> {
    await this.#find(id);
    const now = this.#clock.now();
    return view((await this.#subscriptions.setDisabled(id, enabled ? undefined : now, enabled ? undefined : 'operator', now))!);
  }

  async remove(id: string): Promise<void> {
    if (!(await this.#subscriptions.delete(id))) throw new AppError('not_found', `No subscription ${id}`);
  }

  async get(id: string): Promise<SubscriptionView> {
    return view(await this.#find(id));
  }

  async list(clientId?: string): Promise<SubscriptionView[]> {
    return (await this.#subscriptions.list(clientId)).map(view);
  }

  /** Deliveries, newest first; page with `before` (the last id seen). */
  async deliveries(filter: { subscriptionId?: string; clientId?: string; state?: string; messageId?: string; before?: number; limit?: number } = {}): Promise<DeliveryRecord[]> {
    if (filter.state !== undefined && !['pending', 'delivered', 'failed'].includes(filter.state)) {
      throw new AppError('validation_failed', 'state is pending, delivered or failed', { fields: [{ field: '/state', message: 'must be pending, delivered or failed' }] });
    }
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), MAX_PAGE);
    return this.#deliveries.list({ ...filter, state: filter.state as DeliveryState | undefined, limit });
  }

  /** Deliveries, newest first, a page at a time (the admin API). */
  async deliveryPage(filter: { subscriptionId?: string | undefined; clientId?: string | undefined; state?: DeliveryState | undefined; messageId?: string | undefined }, paging: Paging = {}): Promise<Page<DeliveryView>> {
    const page = await pageOf(paging, (before, limit) => this.#deliveries.list({ ...filter, before, limit }));
    return { items: page.items.map(deliveryView), nextCursor: page.nextCursor };
  }

  async delivery(id: number): Promise<{ delivery: DeliveryRecord; attempts: AttemptRecord[] }> {
    const delivery = await this.#deliveries.find(id);
    if (!delivery) throw new AppError('not_found', `No delivery ${id}`);
    return { delivery, attempts: await this.#deliveries.attempts(id) };
  }

  /** Sends one delivery again (same `webhook-id`), with a fresh retry schedule. */
  async redeliver(id: number): Promise<void> {
    if (!(await this.#deliveries.requeue({ deliveryId: id }, this.#clock.now()))) throw new AppError('not_found', `No delivery ${id}`);
  }

  /** Sends again every delivery of a subscription that failed for good since `since`; returns how many. */
  async recover(subscriptionId: string, since: Date): Promise<number> {
    await this.#find(subscriptionId);
    if (Number.isNaN(since.getTime())) throw new AppError('validation_failed', 'since must be a date and time', { fields: [{ field: '/since', message: 'must be an ISO 8601 date and time' }] });
    return this.#deliveries.requeue({ subscriptionId, since }, this.#clock.now());
  }

  async #find(id: string): Promise<SubscriptionRecord> {
    const record = await this.#subscriptions.find(id);
    if (!record) throw new AppError('not_found', `No subscription ${id}`);
    return record;
  }

  #validated(input: SubscriptionInput): { url: string; eventTypes: string[]; description: string | undefined } {
    const problems: { field: string; message: string }[] = [];
    const url = this.#endpointProblem(input.url);
    if (url) problems.push({ field: '/url', message: url });
    const types = [...new Set(input.eventTypes)].sort();
    if (types.length === 0) problems.push({ field: '/event_types', message: 'must name at least one event type (or *)' });
    for (const type of types) {
      if (type !== '*' && !isEventType(type)) problems.push({ field: '/event_types', message: `"${type}" is not an event type; known: ${EVENT_TYPES.join(', ')}` });
    }
    const description = input.description?.trim() || undefined;
    if (description && description.length > 200) problems.push({ field: '/description', message: 'must be at most 200 characters' });
    if (problems.length) throw new AppError('validation_failed', problems.map((p) => `${p.field.slice(1)} ${p.message}`).join('; '), { fields: problems });
    return { url: input.url, eventTypes: types, description };
  }

  #endpointProblem(text: string): string | undefined {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return 'must be an absolute URL';
    }
    if (text.length > 2000) return 'must be at most 2000 characters';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !this.#rules.requireHttps)) return this.#rules.requireHttps ? 'must be https' : 'must be http or https';
    if (url.username || url.password) return 'must not carry a user name or password';
    if (url.hash) return 'must not have a fragment';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !this.#policy.allows(host)) return 'must not be a loopback, private or link-local address (see IDFLOW_WEBHOOK_ALLOWED_NETWORKS)';
    return undefined;
  }
}

/** A delivery as shown to an operator (the CLI, the admin API). */
export function deliveryView(d: DeliveryRecord) {
  return {
    id: d.id,
    message_id: d.messageId,
    subscription_id: d.subscriptionId,
    client_id: d.clientId,
    event_type: d.eventType,
    state: d.state,
    attempts: d.attempts,
    next_attempt_at: d.state === 'pending' ? d.nextAttemptAt.toISOString() : null,
    created_at: d.createdAt.toISOString(),
    delivered_at: d.deliveredAt?.toISOString() ?? null,
  };
}

export type DeliveryView = ReturnType<typeof deliveryView>;

/** An attempt as shown to an operator: what the receiver answered, never what was sent. */
export function attemptView(a: AttemptRecord) {
  return { attempted_at: a.attemptedAt.toISOString(), status: a.status ?? null, duration_ms: a.durationMs, response_head: a.responseHead ?? null, error: a.error ?? null };
}

function view(s: SubscriptionRecord): SubscriptionView {
  return {
    id: s.id,
    client_id: s.clientId,
    url: s.url,
    event_types: s.eventTypes,
    description: s.description ?? null,
    enabled: s.disabledAt === undefined,
    disabled_reason: s.disabledReason ?? null,
    failing_since: s.failingSince?.toISOString() ?? null,
    previous_secret_valid_until: s.previousExpiresAt?.toISOString() ?? null,
    created_at: s.createdAt.toISOString(),
  };
}
