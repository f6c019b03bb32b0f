import type { Clock } from '../kernel/clock.ts';

/**
 * Counts failures per key in a fixed window. Keys are namespaced by the caller
 * ("account:<id>", "ip:<addr>"), so a lock on one account never touches another.
 *
 * Counters live in this process; with several nodes each counts on its own, so the limit
 * a person meets is at most (nodes × limit). docs/operations.md says how to share them.
 */
export interface FailureThrottle {
  /** Seconds until the key may try again, or 0 when it is not blocked. */
  blockedFor(key: string, limit: number): number;
  recordFailure(key: string, windowSeconds: number): void;
  reset(key: string): void;
}

interface Window {
  count: number;
  resetsAt: number;
}

export class MemoryFailureThrottle implements FailureThrottle {
  readonly #windows = new Map<string, Window>();
  readonly #clock: Clock;
  readonly #maxKeys: number;

  constructor(clock: Clock, maxKeys = 100_000) {
    this.#clock = clock;
    this.#maxKeys = maxKeys;
  }

  blockedFor(key: string, limit: number): number {
    const window = this.#current(key);
    if (!window || window.count < limit) return 0;
    return Math.max(1, Math.ceil((window.resetsAt - this.#clock.now().getTime()) / 1000));
  }

  recordFailure(key: string, windowSeconds: number): void {
    const now = this.#clock.now().getTime();
    const window = this.#current(key);
    if (window) {
      window.count += 1;
      return;
    }
    if (this.#windows.size >= this.#maxKeys) this.#evictExpired(now);
    this.#windows.set(key, { count: 1, resetsAt: now + windowSeconds * 1000 });
  }

  reset(key: string): void {
    this.#windows.delete(key);
  }

  #current(key: string): Window | undefined {
    const window = this.#windows.get(key);
    if (window && window.resetsAt <= this.#clock.now().getTime()) {
      this.#windows.delete(key);
      return undefined;
    }
    return window;
  }

  #evictExpired(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetsAt <= now) this.#windows.delete(key);
    // Still full: drop the oldest entries rather than grow without bound under attack.
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.#maxKeys) break;
      this.#windows.delete(key);
    }
  }
}
