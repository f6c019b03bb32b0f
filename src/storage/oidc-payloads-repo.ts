import type { Queryable } from './db.ts';

/** Rows behind oidc-provider's adapter interface (src/oauth/adapter.ts). */
export interface OidcPayloadRow {
  payload: Record<string, unknown>;
  consumed_at: Date | null;
}

export class OidcPayloadsRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null): Promise<void> {
    await this.#db.query(
      `insert into oidc_payloads (model, id, payload, grant_id, uid, user_code, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
         uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
      [model, id, JSON.stringify(payload), payload.grantId ?? null, payload.uid ?? null, payload.userCode ?? null, expiresAt],
    );
  }

  async find(model: string, id: string, now: Date): Promise<OidcPayloadRow | undefined> {
    const [row] = await this.#db.query<OidcPayloadRow>(
      'select payload, consumed_at from oidc_payloads where model = $1 and id = $2 and (expires_at is null or expires_at > $3)',
      [model, id, now],
    );
    return row;
  }

  /**
   * The row and, in the same read, the grant it belongs to (oidc-provider asks for the grant
   * right after a refresh token or an authorization code): one query, not two.
   */
  async findWithGrant(model: string, id: string, now: Date): Promise<(OidcPayloadRow & { grant_id: string | null; grant_payload: Record<string, unknown> | null }) | undefined> {
    const [row] = await this.#db.query<OidcPayloadRow & { grant_id: string | null; grant_payload: Record<string, unknown> | null }>(
      `select p.payload, p.consumed_at, p.grant_id, g.payload as grant_payload
       from oidc_payloads p
       left join oidc_payloads g on g.model = 'Grant' and g.id = p.grant_id and (g.expires_at is null or g.expires_at > $3)
       where p.model = $1 and p.id = $2 and (p.expires_at is null or p.expires_at > $3)`,
      [model, id, now],
    );
    return row;
  }

  /** Finds a row even after it expired, to say *when* it expired; never to honour it. */
  async findIgnoringExpiry(model: string, id: string): Promise<(OidcPayloadRow & { expires_at: Date | null }) | undefined> {
    const [row] = await this.#db.query<OidcPayloadRow & { expires_at: Date | null }>(
      'select payload, consumed_at, expires_at from oidc_payloads where model = $1 and id = $2',
      [model, id],
    );
    return row;
  }

  async findBy(model: string, column: 'uid' | 'user_code', value: string, now: Date): Promise<OidcPayloadRow | undefined> {
    const [row] = await this.#db.query<OidcPayloadRow>(
      `select payload, consumed_at from oidc_payloads where model = $1 and ${column} = $2 and (expires_at is null or expires_at > $3) limit 1`,
      [model, value, now],
    );
    return row;
  }

  /**
   * Marks the row used, once: of two requests that both read it unused, only one gets
   * `consumed: true`. Also says which grant the row belongs to.
   */
  async consume(model: string, id: string, now: Date): Promise<{ consumed: boolean; grantId: string | undefined }> {
    const [row] = await this.#db.query<{ consumed: boolean; grant_id: string | null }>(
      `with used as (update oidc_payloads set consumed_at = $3 where model = $1 and id = $2 and consumed_at is null returning 1)
       select exists (select 1 from used) as consumed, grant_id from oidc_payloads where model = $1 and id = $2`,
      [model, id, now],
    );
    return { consumed: row?.consumed ?? false, grantId: row?.grant_id ?? undefined };
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.#db.query('delete from oidc_payloads where model = $1 and id = $2', [model, id]);
  }

  /** Removes everything a grant issued (all models), as revocation and refresh-token reuse demand. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#db.query('delete from oidc_payloads where grant_id = $1', [grantId]);
  }

  /** Deletes what has expired; returns how many rows went. */
  async purgeExpired(now: Date): Promise<number> {
    const rows = await this.#db.query('delete from oidc_payloads where expires_at <= $1 returning 1', [now]);
    return rows.length;
  }
}
