import type { Queryable } from './db.ts';

export interface LimitCounter {
  points: number;
  /** Epoch milliseconds at which the window ends; null: never. */
  expire: number | null;
}

/**
 * The counters behind every limit (src/limits/). One statement per change, so two nodes
 * counting the same key at once both land: PostgreSQL serialises the upsert on the row.
 */
export class LimitCountersRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /**
   * Adds `points` (negative to give some back) to the key's window, or starts a new window
   * when there is none or it is over; `reset` starts a new one whatever.
   */
  async add(key: string, points: number, expire: number | null, now: number, reset: boolean): Promise<LimitCounter> {
    const [row] = await this.#db.query<{ points: number; expire: string | number | null }>(
      `insert into limit_counters (key, points, expire) values ($1, $2, $3)
       on conflict (key) do update set
         points = case when $5::boolean or limit_counters.expire <= $4 then $2 else limit_counters.points + $2 end,
         expire = case when $5::boolean or limit_counters.expire <= $4 then $3 else limit_counters.expire end
       returning points, expire`,
      [key, points, expire, now, reset],
    );
    return toCounter(row!);
  }

  async find(key: string, now: number): Promise<LimitCounter | undefined> {
    const [row] = await this.#db.query<{ points: number; expire: string | number | null }>(
      'select points, expire from limit_counters where key = $1 and (expire > $2 or expire is null)',
      [key, now],
    );
    return row ? toCounter(row) : undefined;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#db.query('delete from limit_counters where key = $1 returning 1', [key])).length > 0;
  }

  async purgeExpired(now: number): Promise<number> {
    return (await this.#db.query('delete from limit_counters where expire <= $1 returning 1', [now])).length;
  }
}

function toCounter(row: { points: number; expire: string | number | null }): LimitCounter {
  return { points: Number(row.points), expire: row.expire === null ? null : Number(row.expire) };
}
