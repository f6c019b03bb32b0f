import type { Keyring } from '../kernel/sealing.ts';
import type { Queryable } from './db.ts';

export interface SubscriptionRecord {
  id: string;
  clientId: string;
  url: string;
  eventTypes: string[];
  description: string | undefined;
  /** The secret messages are signed with. */
  secret: string;
  /** The secret before the last rotation, still signing until `previousExpiresAt`. */
  previousSecret: string | undefined;
  previousExpiresAt: Date | undefined;
  failingSince: Date | undefined;
  disabledAt: Date | undefined;
  disabledReason: string | undefined;
  createdAt: Date;
  updatedAt: Date;
}

export interface SubscriptionRow {
  id: string;
  client_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_expires_at: Date | null;
  failing_since: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Each secret is bound to its row and column: a sealed value copied elsewhere does not open. */
const secretContext = (id: string, column: 'secret' | 'previous_secret') => `webhook_subscriptions.${column}:${id}`;

/** The secrets that sign a subscription's messages now: the current one, and the previous one until it expires. */
export function signingSecrets(keyring: Keyring, row: Pick<SubscriptionRow, 'id' | 'secret_sealed' | 'previous_secret_sealed' | 'previous_expires_at'>, now: Date): string[] {
  const current = keyring.open(row.secret_sealed, secretContext(row.id, 'secret'));
  const previousValid = row.previous_secret_sealed && row.previous_expires_at && row.previous_expires_at > now;
  return previousValid ? [current, keyring.open(row.previous_secret_sealed!, secretContext(row.id, 'previous_secret'))] : [current];
}

export class WebhookSubscriptionsRepo {
  readonly #db: Queryable;
  readonly #keyring: Keyring;

  constructor(db: Queryable, keyring: Keyring) {
    this.#db = db;
    this.#keyring = keyring;
  }

  async insert(s: { id: string; clientId: string; url: string; eventTypes: string[]; description: string | undefined; secret: string; now: Date }): Promise<SubscriptionRecord> {
    const [row] = await this.#db.query<SubscriptionRow>(
      `insert into webhook_subscriptions (id, client_id, url, event_types, description, secret_sealed, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $7) returning *`,
      [s.id, s.clientId, s.url, s.eventTypes, s.description ?? null, this.#keyring.seal(s.secret, secretContext(s.id, 'secret')), s.now],
    );
    return this.#toRecord(row!);
  }

  async update(id: string, changes: { url: string; eventTypes: string[]; description: string | undefined }, now: Date): Promise<SubscriptionRecord | undefined> {
    const [row] = await this.#db.query<SubscriptionRow>(
      'update webhook_subscriptions set url = $2, event_types = $3, description = $4, updated_at = $5 where id = $1 returning *',
      [id, changes.url, changes.eventTypes, changes.description ?? null, now],
    );
    return row && this.#toRecord(row);
  }

  /** Makes `secret` the signing secret; the one it replaces keeps signing until `previousExpiresAt`. */
  async rotateSecret(current: SubscriptionRecord, secret: string, previousExpiresAt: Date, now: Date): Promise<SubscriptionRecord | undefined> {
    const [row] = await this.#db.query<SubscriptionRow>(
      `update webhook_subscriptions set secret_sealed = $2, previous_secret_sealed = $3, previous_expires_at = $4, updated_at = $5
       where id = $1 and updated_at = $6 returning *`,
      [
        current.id,
        this.#keyring.seal(secret, secretContext(current.id, 'secret')),
        this.#keyring.seal(current.secret, secretContext(current.id, 'previous_secret')),
        previousExpiresAt,
        now,
        current.updatedAt,
      ],
    );
    return row && this.#toRecord(row);
  }

  /** Disabled (with a reason) or enabled again (`disabledAt` undefined); enabling forgets past failures. */
  async setDisabled(id: string, disabledAt: Date | undefined, reason: string | undefined, now: Date): Promise<SubscriptionRecord | undefined> {
    const [row] = await this.#db.query<SubscriptionRow>(
      `update webhook_subscriptions set disabled_at = $2, disabled_reason = $3, failing_since = case when $2::timestamptz is null then null else failing_since end, updated_at = $4
       where id = $1 returning *`,
      [id, disabledAt ?? null, reason ?? null, now],
    );
    return row && this.#toRecord(row);
  }

  async find(id: string): Promise<SubscriptionRecord | undefined> {
    const [row] = await this.#db.query<SubscriptionRow>('select * from webhook_subscriptions where id = $1', [id]);
    return row && this.#toRecord(row);
  }

  async findByUrl(clientId: string, url: string): Promise<SubscriptionRecord | undefined> {
    const [row] = await this.#db.query<SubscriptionRow>('select * from webhook_subscriptions where client_id = $1 and url = $2', [clientId, url]);
    return row && this.#toRecord(row);
  }

  async list(clientId?: string): Promise<SubscriptionRecord[]> {
    const rows = await this.#db.query<SubscriptionRow>(
      'select * from webhook_subscriptions where $1::text is null or client_id = $1 order by client_id, created_at, id',
      [clientId ?? null],
    );
    return rows.map((r) => this.#toRecord(r));
  }

  async delete(id: string): Promise<boolean> {
    return (await this.#db.query('delete from webhook_subscriptions where id = $1 returning 1', [id])).length > 0;
  }

  #toRecord(row: SubscriptionRow): SubscriptionRecord {
    return {
      id: row.id,
      clientId: row.client_id,
      url: row.url,
      eventTypes: row.event_types,
      description: row.description ?? undefined,
      secret: this.#keyring.open(row.secret_sealed, secretContext(row.id, 'secret')),
      previousSecret: row.previous_secret_sealed ? this.#keyring.open(row.previous_secret_sealed, secretContext(row.id, 'previous_secret')) : undefined,
      previousExpiresAt: row.previous_expires_at ?? undefined,
      failingSince: row.failing_since ?? undefined,
      disabledAt: row.disabled_at ?? undefined,
      disabledReason: row.disabled_reason ?? undefined,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
