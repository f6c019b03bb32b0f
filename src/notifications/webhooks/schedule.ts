/**
 * When a delivery is tried again: Svix's schedule (after the first attempt, 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours), each delay stretched by
 * up to a fifth at random so retries of many messages do not land on a receiver together.
 */
export const RETRY_DELAYS_SECONDS = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;
const JITTER = 0.2;
/** A `Retry-After` longer than this is taken as this: a receiver cannot park a message for a week. */
const MAX_RETRY_AFTER_SECONDS = 24 * 3600;

/**
 * Milliseconds until the next attempt after `attemptsMade` attempts failed, or undefined when
 * that was the last. A receiver's `Retry-After` is honoured: never sooner than it asks.
 */
export function retryDelayMs(attemptsMade: number, retryAfterSeconds: number | undefined, random: () => number = Math.random): number | undefined {
  const base = RETRY_DELAYS_SECONDS[attemptsMade - 1];
  if (base === undefined) return undefined;
  const scheduled = base * 1000 * (1 + JITTER * random());
  const asked = retryAfterSeconds === undefined ? 0 : Math.min(retryAfterSeconds, MAX_RETRY_AFTER_SECONDS) * 1000;
  return Math.round(Math.max(scheduled, asked));
}

/** `Retry-After` (RFC 9110 §10.2.3): seconds, or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
