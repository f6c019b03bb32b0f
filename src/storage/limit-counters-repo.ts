import type { Queryable } from './db.ts';

export interface LimitCounter {
  points: number;
  /** Epoch milliseconds at which the window ends; null: never. */
  expire: number | null;
}

/**
 * The counters behind every limit (src/limits/). One statement per change, so two nodes
 * counting the same key at once both land: PostgreSQL serialises the upsert on the row.
 * A request that counts against several limits changes all its keys in one statement.
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

  /**
   * `add` of one point for several keys in one statement; a key without a live window gets
   * a new one ending at its `expire`. Rows are written in key order, as `settle` locks
   * them, so two requests sharing keys never wait on each other in a cycle. Counters come
   * back in the order asked.
   */
  async addOneEach(counters: readonly { key: string; expire: number }[], now: number): Promise<LimitCounter[]> {
    const sorted = [...counters].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const rows = await this.#db.query<{ key: string; points: number; expire: string | number | null }>(
      `insert into limit_counters (key, points, expire)
       select key, 1, expire from unnest($1::text[], $2::bigint[]) with ordinality as t(key, expire, n) order by n
       on conflict (key) do update set
         points = case when limit_counters.expire <= $3 then 1 else limit_counters.points + 1 end,
         expire = case when limit_counters.expire <= $3 then excluded.expire else limit_counters.expire end
       returning key, points, expire`,
      [sorted.map((c) => c.key), sorted.map((c) => c.expire), now],
    );
    const byKey = new Map(rows.map((row) => [row.key, toCounter(row)]));
    return counters.map((c) => byKey.get(c.key)!);
  }

  /**
   * In one statement: the `forget` keys' counts go to zero and each live `giveBack` key
   * gets one point back. Rows are locked in key order (see `addOneEach`).
   */
  async settle(forget: readonly string[], giveBack: readonly string[], now: number): Promise<void> {
    await this.#db.query(
      `with locked as (
         select key from limit_counters where key = any($1::text[]) and expire > $3 order by key for update
       )
       update limit_counters c set points = case when c.key = any($2::text[]) then 0 else greatest(c.points - 1, 0) end
       from locked where c.key = locked.key`,
      [[...forget, ...giveBack], forget, now],
    );
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
