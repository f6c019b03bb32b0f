import type { Queryable } from './db.ts';
import type { Keyring } from '../kernel/sealing.ts';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  privateJwk: Record<string, unknown>;
  createdAt: Date;
  retiredAt: Date | undefined;
  publishUntil: Date | undefined;
}

interface Row {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: Date;
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

  async insert(kid: string, alg: string, privateJwk: Record<string, unknown>): Promise<void> {
    await this.#db.query('insert into signing_keys (kid, alg, private_jwk) values ($1, $2, $3)', [
      kid,
      alg,
      this.#keyring.sealJson(privateJwk, `signing_keys:${kid}`),
    ]);
  }

  /** Keys still published: active ones and retired ones whose tokens may still be valid; newest first. */
  async published(now: Date): Promise<SigningKeyRecord[]> {
    const rows = await this.#db.query<Row>(
      'select * from signing_keys where publish_until is null or publish_until > $1 order by retired_at is not null, created_at desc',
      [now],
    );
    return rows.map((row) => ({
      kid: row.kid,
      alg: row.alg,
      privateJwk: this.#keyring.openJson(row.private_jwk, `signing_keys:${row.kid}`),
      createdAt: row.created_at,
      retiredAt: row.retired_at ?? undefined,
      publishUntil: row.publish_until ?? undefined,
    }));
  }

  /** Retires every active key of `alg`, keeping it published until `publishUntil`. */
  async retireActive(alg: string, now: Date, publishUntil: Date): Promise<number> {
    const rows = await this.#db.query(
      'update signing_keys set retired_at = $2, publish_until = $3 where alg = $1 and retired_at is null returning kid',
      [alg, now, publishUntil],
    );
    return rows.length;
  }
}
