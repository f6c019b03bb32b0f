import { createHmac } from 'node:crypto';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * One limit: at most `points` uses of a key per window of `durationSeconds`, counted from
 * the key's first use (rate-limiter-flexible's fixed window). Every limit of the platform
 * is declared once, in `catalogue.ts`.
 */
export interface LimitDefinition {
  /** Stable and unique; names the counters in the store and the limit in logs. */
  name: string;
  points: number;
  durationSeconds: number;
}

/** A limit applied to one key, e.g. sign-in failures of one account. */
export interface LimitUse {
  limit: LimitDefinition;
  key: string;
}

export type LimitVerdict = { allowed: true } | { allowed: false; retryAfter: number; limit: string };

/** Where counters live: the database by default, Redis when configured (`stores.ts`). */
export interface LimitStore {
  limiterFor(limit: LimitDefinition): RateLimiterAbstract;
  purgeExpired(now: Date): Promise<number>;
  close(): Promise<void>;
}

/**
 * The platform's one way to count and refuse: sign-in attempts, SMS sends, verification
 * starts. Counters are shared by every node (PostgreSQL, or Redis), and counted before the
 * work they guard, atomically in the store: of N requests racing for the last point, one
 * gets it.
 *
 * Keys are replaced by a keyed hash before they reach the store, so the counters hold no
 * email address, phone number or IP address, and do not tell which accounts exist.
 */
export class Limits {
  readonly #store: LimitStore;
  readonly #secret: Buffer;
  readonly #limiters = new Map<string, RateLimiterAbstract>();

  constructor(store: LimitStore, secret: Buffer) {
    this.#store = store;
    this.#secret = secret;
  }

  /**
   * Takes one point of every use, in order, or none: at the first use that is over its
   * limit, what this call took is given back (the refused one included) and the request
   * is refused. So a request that is turned away counts nowhere — a blocked client does
   * not use up a phone's quota, and refused sign-in guesses from one address do not add to
   * the account's count — and the most specific use should come first.
   */
  async consume(uses: readonly LimitUse[]): Promise<LimitVerdict> {
    for (const [index, use] of uses.entries()) {
      try {
        await this.#limiter(use.limit).consume(this.#key(use));
      } catch (error) {
        // Over the limit, the store counted this use too; failing, it counted nothing.
        const refused = error instanceof RateLimiterRes;
        await this.refund(uses.slice(0, refused ? index + 1 : index)).catch(() => {});
        if (refused) return { allowed: false, retryAfter: Math.max(1, Math.ceil(error.msBeforeNext / 1000)), limit: use.limit.name };
        throw error;
      }
    }
    return { allowed: true };
  }

  /** Gives back one point of each use (an attempt that turned out not to count). */
  async refund(uses: readonly LimitUse[]): Promise<void> {
    await Promise.all(uses.map((use) => this.#limiter(use.limit).reward(this.#key(use))));
  }

  /** Forgets each use's count, e.g. failures of an account from an address once it signed in there. */
  async reset(uses: readonly LimitUse[]): Promise<void> {
    await Promise.all(uses.map((use) => this.#limiter(use.limit).delete(this.#key(use))));
  }

  /** Deletes counters whose window is over (the database store; Redis expires its own). */
  purgeExpired(now: Date): Promise<number> {
    return this.#store.purgeExpired(now);
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  #limiter(limit: LimitDefinition): RateLimiterAbstract {
    let limiter = this.#limiters.get(limit.name);
    if (!limiter) {
      limiter = this.#store.limiterFor(limit);
      this.#limiters.set(limit.name, limiter);
    }
    return limiter;
  }

  #key(use: LimitUse): string {
    return createHmac('sha256', this.#secret).update(use.key).digest('base64url');
  }
}
