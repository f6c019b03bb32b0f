import { Redis } from 'ioredis';
import type { Logger } from 'pino';
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
    batch: {
      async takeOneEach(keys) {
        const now = clock.now().getTime();
        const counts = await counters.addOneEach(keys.map((k) => ({ key: k.key, expire: now + k.durationMs })), now);
        return counts.map((count) => ({ points: count.points, msBeforeNext: count.expire === null ? -1 : Math.max(count.expire - now, 0) }));
      },
      settle: (forget, giveBack) => counters.settle(forget, giveBack, clock.now().getTime()),
    },
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
export async function redisLimitStore(url: string, db: Db, clock: Clock, logger: Logger): Promise<LimitStore> {
  // While Redis is away a command fails at once (no offline queue) and the database counts
  // instead; the client keeps reconnecting in the background.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  let answering = true;
  redis.on('error', (error: Error) => {
    if (answering) logger.warn({ err: { message: error.message } }, 'limits: Redis is not answering; counting in the database until it is back');
    answering = false;
  });
  redis.on('ready', () => {
    if (!answering) logger.info('limits: Redis answers again');
    answering = true;
  });
  // Start counting in Redis from the first request; a Redis that is down delays start-up by
  // the connection timeout at most, then the database counts until it is back.
  await new Promise<void>((resolve) => {
    const done = () => {
      redis.off('ready', done);
      redis.off('end', done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, 2000);
    redis.once('ready', done);
    redis.once('end', done);
  });
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

export async function createLimitStore(config: { redisUrl: string | undefined }, db: Db, clock: Clock, logger: Logger): Promise<LimitStore> {
  return config.redisUrl ? redisLimitStore(config.redisUrl, db, clock, logger) : databaseLimitStore(db, clock);
}

function sqlLimiter(limit: LimitDefinition, db: Db, clock: Clock): SqlRateLimiter {
  return new SqlRateLimiter({ keyPrefix: limit.name, points: limit.points, duration: limit.durationSeconds, db, clock });
}
