import type { Clock } from '../../kernel/clock.ts';
import { MemoryFailureThrottle } from '../../identity/throttle.ts';

export interface CountRule {
  /** Namespaced by the caller, e.g. "sms:phone:10m:+14155552671". */
  key: string;
  limit: number;
  windowSeconds: number;
}

export type CountResult = { allowed: true } | { allowed: false; retryAfter: number; key: string };

/**
 * Counts sends in fixed windows. `consume` is all or nothing: when any rule is at its
 * limit nothing is counted, so a client that is blocked does not also use up a phone's quota.
 * Async so that a shared store (Redis, the database) can stand behind the same interface.
 */
export interface SendCounter {
  consume(rules: CountRule[]): Promise<CountResult>;
}

/**
 * In this process only, on the same fixed-window, bounded-memory counting as the sign-in
 * throttle (src/identity/throttle.ts), used as it is. With several nodes each counts on its
 * own, so a phone can receive at most (nodes × limit).
 */
export class MemorySendCounter implements SendCounter {
  readonly #windows: MemoryFailureThrottle;

  constructor(clock: Clock, maxKeys = 100_000) {
    this.#windows = new MemoryFailureThrottle(clock, maxKeys);
  }

  async consume(rules: CountRule[]): Promise<CountResult> {
    // No await between the checks and the counting: in one process this is atomic.
    let blocked: { retryAfter: number; key: string } | undefined;
    for (const rule of rules) {
      const wait = this.#windows.blockedFor(rule.key, rule.limit);
      if (wait > 0 && (!blocked || wait > blocked.retryAfter)) blocked = { retryAfter: wait, key: rule.key };
    }
    if (blocked) return { allowed: false, ...blocked };
    for (const rule of rules) this.#windows.recordFailure(rule.key, rule.windowSeconds);
    return { allowed: true };
  }
}
