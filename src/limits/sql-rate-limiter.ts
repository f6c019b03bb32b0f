import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Clock } from '../kernel/clock.ts';
import type { Queryable } from '../storage/db.ts';
import { LimitCountersRepo } from '../storage/limit-counters-repo.ts';

export interface SqlRateLimiterOptions {
  /** The limit's name; rate-limiter-flexible prefixes every key with it. */
  keyPrefix: string;
  points: number;
  duration: number;
  db: Queryable;
  clock: Clock;
}

/**
 * rate-limiter-flexible's PostgreSQL limiter (its counting, consume/reward/delete and
 * result shapes), with its four storage steps going through idflow's own database door:
 *
 * - the library talks to a `pg` Pool (named prepared statements, `rowCount`); idflow's `Db`
 *   also runs on embedded PGlite, which has neither, and only `src/storage/` issues SQL;
 * - the library reads `Date.now()`; idflow's time is the injected `Clock`, so a window is
 *   tested without sleeping and every expiry in the platform follows the same clock;
 * - the table is made by migration 008 (`tableCreated: true`), never by the library at run
 *   time, and expired rows go with the platform's purge (`clearExpiredByTimeout: false`).
 */
export class SqlRateLimiter extends RateLimiterPostgres {
  readonly #counters: LimitCountersRepo;
  readonly #clock: Clock;

  constructor(options: SqlRateLimiterOptions) {
    super({
      keyPrefix: options.keyPrefix,
      points: options.points,
      duration: options.duration,
      storeClient: options.db,
      storeType: 'idflow',
      tableName: 'limit_counters',
      tableCreated: true,
      clearExpiredByTimeout: false,
    });
    this.#counters = new LimitCountersRepo(options.db);
    this.#clock = options.clock;
  }

  _upsert(key: string, points: number, msDuration: number, forceExpire = false) {
    const now = this.#clock.now().getTime();
    return this.#counters.add(key, points, msDuration > 0 ? now + msDuration : null, now, forceExpire);
  }

  _get(key: string) {
    return this.#counters.find(key, this.#clock.now().getTime()).then((row) => row ?? null);
  }

  _delete(key: string) {
    return this.#counters.delete(key);
  }

  _getRateLimiterRes(_key: string, changedPoints: number, row: { points: number; expire: number | null }): RateLimiterRes {
    const isFirstInDuration = changedPoints === row.points;
    const consumed = isFirstInDuration ? changedPoints : row.points;
    const msBeforeNext = row.expire === null ? -1 : Math.max(row.expire - this.#clock.now().getTime(), 0);
    return new RateLimiterRes(Math.max(this.points - consumed, 0), msBeforeNext, consumed, isFirstInDuration);
  }
}
