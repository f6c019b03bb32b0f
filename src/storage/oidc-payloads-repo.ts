import type { Queryable } from './db.ts';
import type { Sealer } from './sealer.ts';

/** Rows behind oidc-provider's adapter interface (src/oauth/adapter.ts). */
export interface OidcPayloadRow {
  payload: Record<string, unknown>;
  consumed_at: Date | null;
}

/** What the payload of any model may say about the row's lookups. */
interface PayloadKeys {
  grantId?: string;
  uid?: string;
  userCode?: string;
}

/**
 * A row of a grant (a token, a code, an interaction) is written and found only while its
 * grant row exists and is not revoked: revoking the grant kills every row of it at once,
 * including rows a concurrent request writes after the revocation. A row with no grant
 * answers to no grant.
 */
const GRANT_LIVES = (alias: string) =>
  `(${alias}.grant_id is null or exists (select 1 from oidc_payloads g where g.model = 'Grant' and g.id = ${alias}.grant_id and g.revoked_at is null))`;

/**
 * Everything oidc-provider persists (tokens, codes, sessions, interactions, grants), with
 * nothing a dump could replay: the values people and clients present (the id, the session
 * `uid`, the device `userCode`) are stored as keyed hashes and found by hashing what is
 * presented; the payload is sealed whole, bound to its model and row.
 */
export class OidcPayloadsRepo {
  readonly #db: Queryable;
  readonly #sealer: Sealer;

  constructor(db: Queryable, sealer: Sealer) {
    this.#db = db;
    this.#sealer = sealer;
  }

  /** Writes the row; false when it belongs to a grant that is gone (nothing is written). */
  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null): Promise<boolean> {
    const key = this.#key(model, id);
    const { grantId, uid, userCode } = payload as PayloadKeys;
    const grantKey = grantId ? this.#key('Grant', grantId) : null;
    // A revoked grant is a tombstone until it expires: saving it again must not revive it.
    const rows = await this.#db.query(
      `insert into oidc_payloads (model, id, sealed, grant_id, uid, user_code, expires_at)
       select $1, $2, $3, $4::text, $5, $6, $7::timestamptz
       where $4::text is null or exists (select 1 from oidc_payloads g where g.model = 'Grant' and g.id = $4::text and g.revoked_at is null)
       on conflict (model, id) do update set sealed = excluded.sealed, grant_id = excluded.grant_id,
         uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at
       where oidc_payloads.revoked_at is null
       returning 1`,
      [
        model,
        key,
        this.#seal(model, key, payload),
        grantKey,
        uid ? this.#lookupKey(model, 'uid', uid) : null,
        userCode ? this.#lookupKey(model, 'user_code', userCode) : null,
        expiresAt,
      ],
    );
    return rows.length === 1;
  }

  async find(model: string, id: string, now: Date): Promise<OidcPayloadRow | undefined> {
    const key = this.#key(model, id);
    const [row] = await this.#db.query<SealedRow>(
      `select p.sealed, p.consumed_at from oidc_payloads p
       where p.model = $1 and p.id = $2 and (p.expires_at is null or p.expires_at > $3) and p.revoked_at is null and ${GRANT_LIVES('p')}`,
      [model, key, now],
    );
    return row && this.#opened(model, key, row);
  }

  /**
   * The row and, in the same read, the grant it belongs to (oidc-provider asks for the grant
   * right after a refresh token or an authorization code): one query, not two. The grant
   * comes back only while it is valid.
   */
  async findWithGrant(model: string, id: string, now: Date): Promise<(OidcPayloadRow & { grant: Record<string, unknown> | undefined }) | undefined> {
    const key = this.#key(model, id);
    const [row] = await this.#db.query<SealedRow & { grant_id: string | null; grant_sealed: string | null }>(
      `select p.sealed, p.consumed_at, p.grant_id,
         case when g.expires_at is null or g.expires_at > $3 then g.sealed end as grant_sealed
       from oidc_payloads p
       left join oidc_payloads g on g.model = 'Grant' and g.id = p.grant_id and g.revoked_at is null
       where p.model = $1 and p.id = $2 and (p.expires_at is null or p.expires_at > $3) and (p.grant_id is null or g.id is not null)`,
      [model, key, now],
    );
    if (!row) return undefined;
    const grant = row.grant_id && row.grant_sealed ? this.#open('Grant', row.grant_id, row.grant_sealed) : undefined;
    return { ...this.#opened(model, key, row), grant };
  }

  /** Finds a row even after it expired, to say *when* it expired; never to honour it. */
  async findIgnoringExpiry(model: string, id: string): Promise<(OidcPayloadRow & { expires_at: Date | null }) | undefined> {
    const key = this.#key(model, id);
    const [row] = await this.#db.query<SealedRow & { expires_at: Date | null }>(
      `select p.sealed, p.consumed_at, p.expires_at from oidc_payloads p
       where p.model = $1 and p.id = $2 and p.revoked_at is null and ${GRANT_LIVES('p')}`,
      [model, key],
    );
    return row && { ...this.#opened(model, key, row), expires_at: row.expires_at };
  }

  async findBy(model: string, column: 'uid' | 'user_code', value: string, now: Date): Promise<OidcPayloadRow | undefined> {
    const [row] = await this.#db.query<SealedRow & { id: string }>(
      `select p.id, p.sealed, p.consumed_at from oidc_payloads p
       where p.model = $1 and p.${column} = $2 and (p.expires_at is null or p.expires_at > $3) and p.revoked_at is null and ${GRANT_LIVES('p')}
       limit 1`,
      [model, this.#lookupKey(model, column, value), now],
    );
    return row && this.#opened(model, row.id, row);
  }

  /**
   * Marks the row used, once: of two requests that both read it unused, only one gets
   * `consumed: true`. A request that does not also learns which grant the row belongs to.
   */
  async consume(model: string, id: string, now: Date): Promise<{ consumed: boolean; grantId: string | undefined }> {
    const key = this.#key(model, id);
    const [row] = await this.#db.query<{ consumed: boolean; sealed: string }>(
      `with used as (update oidc_payloads set consumed_at = $3 where model = $1 and id = $2 and consumed_at is null returning 1)
       select exists (select 1 from used) as consumed, sealed from oidc_payloads where model = $1 and id = $2`,
      [model, key, now],
    );
    if (!row) return { consumed: false, grantId: undefined };
    if (row.consumed) return { consumed: true, grantId: undefined };
    return { consumed: false, grantId: (this.#open(model, key, row.sealed) as PayloadKeys).grantId };
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.#db.query('delete from oidc_payloads where model = $1 and id = $2', [model, this.#key(model, id)]);
  }

  /** Removes the rows of one model a grant issued (oidc-provider revokes model by model). */
  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    await this.#db.query('delete from oidc_payloads where model = $1 and grant_id = $2', [model, this.#key('Grant', grantId)]);
  }

  /**
   * Revokes a grant: its row becomes a tombstone (kept until it expires, so it cannot be
   * saved back) and every row it issued goes, in one statement. A row of the grant written
   * later is refused, or, if its write raced this one, never found.
   */
  async revokeGrant(grantId: string, now: Date): Promise<void> {
    const grantKey = this.#key('Grant', grantId);
    await this.#db.query(
      `with tombstone as (update oidc_payloads set revoked_at = $2 where model = 'Grant' and id = $1 and revoked_at is null returning 1)
       delete from oidc_payloads where grant_id = $1`,
      [grantKey, now],
    );
  }

  /** Deletes what has expired, tombstones included; returns how many rows went. */
  async purgeExpired(now: Date): Promise<number> {
    const rows = await this.#db.query('delete from oidc_payloads where expires_at <= $1 returning 1', [now]);
    return rows.length;
  }

  #key(model: string, id: string): string {
    return this.#sealer.index(`oidc:${model}`, id);
  }

  #lookupKey(model: string, column: 'uid' | 'user_code', value: string): string {
    return this.#sealer.index(`oidc:${model}:${column}`, value);
  }

  #seal(model: string, key: string, payload: Record<string, unknown>): string {
    return this.#sealer.seal(JSON.stringify(payload), sealContext(model, key));
  }

  #open(model: string, key: string, sealed: string): Record<string, unknown> {
    return JSON.parse(this.#sealer.open(sealed, sealContext(model, key))) as Record<string, unknown>;
  }

  #opened(model: string, key: string, row: SealedRow): OidcPayloadRow {
    return { payload: this.#open(model, key, row.sealed), consumed_at: row.consumed_at };
  }
}

interface SealedRow {
  sealed: string;
  consumed_at: Date | null;
}

/** A payload opens only in the row it was sealed for: same model, same (hashed) id. */
function sealContext(model: string, key: string): string {
  return `oidc_payloads:${model}:${key}`;
}
