import type { Queryable } from './db.ts';

/**
 * One open 1-Click request per (client, phone). Taking the lock is a single upsert that
 * only replaces a holder whose time is up, so of two simultaneous requests exactly one
 * gets the row.
 */
export class OneClickPhoneLocksRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** True when `token` now holds the lock until `expiresAt`. */
  async acquire(lock: { clientId: string; subjectIndex: string; token: string; expiresAt: Date }, now: Date): Promise<boolean> {
    const rows = await this.#db.query(
      `insert into one_click_phone_locks (client_id, subject_index, token, expires_at) values ($1, $2, $3, $4)
       on conflict (client_id, subject_index) do update set token = excluded.token, expires_at = excluded.expires_at
         where one_click_phone_locks.expires_at <= $5
       returning 1`,
      [lock.clientId, lock.subjectIndex, lock.token, lock.expiresAt, now],
    );
    return rows.length === 1;
  }

  /** Moves the holder's expiry (a request that moved on keeps the phone longer). */
  async extend(lock: { clientId: string; subjectIndex: string; token: string; expiresAt: Date }): Promise<void> {
    await this.#db.query('update one_click_phone_locks set expires_at = $4 where client_id = $1 and subject_index = $2 and token = $3', [
      lock.clientId,
      lock.subjectIndex,
      lock.token,
      lock.expiresAt,
    ]);
  }

  async release(lock: { clientId: string; subjectIndex: string; token: string }): Promise<void> {
    await this.#db.query('delete from one_click_phone_locks where client_id = $1 and subject_index = $2 and token = $3', [
      lock.clientId,
      lock.subjectIndex,
      lock.token,
    ]);
  }

  async purgeExpired(before: Date): Promise<number> {
    return (await this.#db.query('delete from one_click_phone_locks where expires_at <= $1 returning 1', [before])).length;
  }
}
