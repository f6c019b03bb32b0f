import { createHmac } from 'node:crypto';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { SecurityEvents } from '../telemetry/security-events.ts';

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

export interface LimitBatch {
  /** One point of each key, each in its own window; the counts after it, in order. */
  takeOneEach(keys: readonly { key: string; durationMs: number }[]): Promise<{ points: number; msBeforeNext: number }[]>;
  /** The `forget` keys start from nothing; each `giveBack` key gets a point back. */
  settle(forget: readonly string[], giveBack: readonly string[]): Promise<void>;
}

export type LimitVerdict = { allowed: true } | { allowed: false; retryAfter: number; limit: string };

/** Where counters live: the database by default, Redis when configured (`stores.ts`). */
export interface LimitStore {
  limiterFor(limit: LimitDefinition): RateLimiterAbstract;
  /**
   * Counting against several limits in one round trip, where the store can (the
   * database): a sign-in counts against three limits, and a statement per limit and per
   * settlement was a sixth of its cost beyond the hash (bench/, docs/limits.md). Keys are
   * the limiters' own (`<limit>:<key>`), so both ways count the same rows.
   */
  batch?: LimitBatch;
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
  readonly #security: SecurityEvents | undefined;

  /** `security`: where a refusal is reported (log line, metric, `limit.exceeded` event). */
  constructor(store: LimitStore, secret: Buffer, security?: SecurityEvents) {
    this.#store = store;
    this.#secret = secret;
    this.#security = security;
  }

  /**
   * Takes one point of every use, or none: when a use is over its limit, what this call
   * took is given back (the refused one included) and the request is refused, naming the
   * first use that was over. So a request that is turned away counts nowhere — a blocked client does
   * not use up a phone's quota, and refused sign-in guesses from one address do not add to
   * the account's count — and the most specific use should come first. A refusal is
   * reported as a security event, under the client the request came from (`about`).
   */
  async consume(uses: readonly LimitUse[], about: { clientId?: string | undefined } = {}): Promise<LimitVerdict> {
    const refused = await this.#take(uses);
    if (!refused) return { allowed: true };
    const verdict = { allowed: false, retryAfter: Math.max(1, Math.ceil(refused.msBeforeNext / 1000)), limit: refused.use.limit.name } as const;
    const { limit } = refused.use;
    await this.#security?.limitExceeded({ limit: limit.name, hashedKey: this.#key(refused.use), windowSeconds: limit.durationSeconds, retryAfter: verdict.retryAfter, clientId: about.clientId });
    return verdict;
  }

  /** Takes the points; undefined when every use was within its limit, else the first that was over. */
  async #take(uses: readonly LimitUse[]): Promise<Refused | undefined> {
    const batch = this.#store.batch;
    if (!batch) return this.#consumeOneByOne(uses);
    const keys = uses.map((use) => ({ key: this.#storeKey(use), durationMs: use.limit.durationSeconds * 1000 }));
    const counts = await batch.takeOneEach(keys);
    const over = uses.findIndex((use, index) => counts[index]!.points > use.limit.points);
    if (over === -1) return undefined;
    await batch.settle([], keys.map((k) => k.key)).catch(() => {});
    return { use: uses[over]!, msBeforeNext: counts[over]!.msBeforeNext };
  }

  /**
   * After the work a request was counted for: each `reset` use starts from nothing (e.g.
   * failures of an account from an address once it signed in there), each `refund` use
   * gets its point back (an attempt that turned out not to count).
   */
  async settle(change: { reset?: readonly LimitUse[]; refund?: readonly LimitUse[] }): Promise<void> {
    const { reset = [], refund = [] } = change;
    const batch = this.#store.batch;
    if (batch) return batch.settle(reset.map((use) => this.#storeKey(use)), refund.map((use) => this.#storeKey(use)));
    await Promise.all([
      ...reset.map((use) => this.#limiter(use.limit).delete(this.#key(use))),
      ...refund.map((use) => this.#limiter(use.limit).reward(this.#key(use))),
    ]);
  }

  async #consumeOneByOne(uses: readonly LimitUse[]): Promise<Refused | undefined> {
    for (const [index, use] of uses.entries()) {
      try {
        await this.#limiter(use.limit).consume(this.#key(use));
      } catch (error) {
        // Over the limit, the store counted this use too; failing, it counted nothing.
        const refused = error instanceof RateLimiterRes;
        await this.settle({ refund: uses.slice(0, refused ? index + 1 : index) }).catch(() => {});
        if (refused) return { use, msBeforeNext: error.msBeforeNext };
        throw error;
      }
    }
    return undefined;
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

  /** The key as the limiter stores it (rate-limiter-flexible's `getKey`). */
  #storeKey(use: LimitUse): string {
    return this.#limiter(use.limit).getKey(this.#key(use));
  }
}

interface Refused {
  use: LimitUse;
  msBeforeNext: number;
}
