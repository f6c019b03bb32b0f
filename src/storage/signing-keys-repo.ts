import type { Queryable } from './db.ts';
import type { Keyring } from '../kernel/sealing.ts';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  privateJwk: Record<string, unknown>;
  createdAt: Date;
  /** From when it signs; a rotated-in key is published ahead of that. */
  activatesAt: Date;
  /** From when it no longer signs (it stays published until publishUntil). */
  retiredAt: Date | undefined;
  publishUntil: Date | undefined;
}

interface Row {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: Date;
  activates_at: Date;
  retired_at: Date | null;
  publish_until: Date | null;
}

export class SigningKeysRepo {
  readonly #db: Queryable;
  readonly #keyring: Keyring;

  constructor(db: Queryable, keyring: Keyring) {
    this.#db = db;
    this.#keyring = keyring;
  }

  /** Inside a transaction: serialises key changes across nodes starting or rotating at once. */
  async lockForChange(): Promise<void> {
    await this.#db.query('select pg_advisory_xact_lock(7301105)');
  }

  /** Inserts a key that signs from `activatesAt` (from now, when not given). */
  async insert(kid: string, alg: string, privateJwk: Record<string, unknown>, activatesAt?: Date): Promise<void> {
    await this.#db.query('insert into signing_keys (kid, alg, private_jwk, activates_at) values ($1, $2, $3, coalesce($4, now()))', [
      kid,
      alg,
      this.#keyring.sealJson(privateJwk, `signing_keys:${kid}`),
      activatesAt ?? null,
    ]);
  }

  /**
   * Keys still published, the one that signs now first (the engine signs with the first key
   * of an algorithm); then keys waiting to sign; then retired keys whose tokens may still be
   * checked.
   */
  async published(now: Date): Promise<SigningKeyRecord[]> {
    const rows = await this.#db.query<Row>(
      `select * from signing_keys where publish_until is null or publish_until > $1
       order by case when activates_at <= $1 and (retired_at is null or retired_at > $1) then 0
                     when activates_at > $1 then 1 else 2 end,
                activates_at desc`,
      [now],
    );
    return rows.map((row) => ({
      kid: row.kid,
      alg: row.alg,
      privateJwk: this.#keyring.openJson(row.private_jwk, `signing_keys:${row.kid}`),
      createdAt: row.created_at,
      activatesAt: row.activates_at,
      retiredAt: row.retired_at ?? undefined,
      publishUntil: row.publish_until ?? undefined,
    }));
  }

  /** Keys of `alg` that have not been given a retirement: they sign now or will. */
  async unretired(alg: string): Promise<number> {
    const rows = await this.#db.query('select kid from signing_keys where alg = $1 and retired_at is null', [alg]);
    return rows.length;
  }

  /** Retires every unretired key of `alg` at `at`, keeping it published until `publishUntil`. */
  async retireActive(alg: string, at: Date, publishUntil: Date): Promise<number> {
    const rows = await this.#db.query(
      'update signing_keys set retired_at = $2, publish_until = $3 where alg = $1 and retired_at is null returning kid',
      [alg, at, publishUntil],
    );
    return rows.length;
  }
}
