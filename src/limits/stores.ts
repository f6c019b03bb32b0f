import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Clock } from '../kernel/clock.ts';
import type { Db } from '../storage/db.ts';
import { LimitCountersRepo } from '../storage/limit-counters-repo.ts';
import type { LimitDefinition, LimitStore } from './limits.ts';
import { SqlRateLimiter } from './sql-rate-limiter.ts';

/** Counters in the platform's database (PostgreSQL or the embedded one): the default. */
export function databaseLimitStore(db: Db, clock: Clock): LimitStore {
  const counters = new LimitCountersRepo(db);
  return {
    limiterFor: (limit) => sqlLimiter(limit, db, clock),
    purgeExpired: (now) => counters.purgeExpired(now.getTime()),
    close: async () => {},
  };
}

/**
 * Counters in Redis (`REDIS_URL`), for deployments whose nodes would rather not add a write
 * to PostgreSQL per counted request. Windows are timed by Redis itself. While Redis does
 * not answer, each limit counts in the database instead (rate-limiter-flexible's insurance
 * limiter): still shared by every node, never unlimited.
 */
export function redisLimitStore(url: string, db: Db, clock: Clock): LimitStore {
  // Connects on first use, so CLI commands that count nothing never open a connection; a
  // command fails after one reconnection attempt instead of queueing while Redis is away.
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => {});
  const database = databaseLimitStore(db, clock);
  return {
    limiterFor: (limit) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `idflow:limit:${limit.name}`,
        points: limit.points,
        duration: limit.durationSeconds,
        insuranceLimiter: sqlLimiter(limit, db, clock),
      }),
    purgeExpired: database.purgeExpired,
    close: async () => void redis.disconnect(),
  };
}

export function createLimitStore(config: { redisUrl: string | undefined }, db: Db, clock: Clock): LimitStore {
  return config.redisUrl ? redisLimitStore(config.redisUrl, db, clock) : databaseLimitStore(db, clock);
}

function sqlLimiter(limit: LimitDefinition, db: Db, clock: Clock): SqlRateLimiter {
  return new SqlRateLimiter({ keyPrefix: limit.name, points: limit.points, duration: limit.durationSeconds, db, clock });
}
