import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Client secrets and API keys are 256-bit random values, so a fast hash is as strong as a
 * slow one for them (nothing to brute-force); a slow hash would only cost throughput.
 * Passwords, which people choose, use argon2id instead (src/identity/passwords.ts).
 */
export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('base64url')}`;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  return constantTimeEqual(hashSecret(secret), storedHash);
}

/** Compares two strings without leaking where they differ (length leaks, by design of hashes it is fixed). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Compare against itself so the time spent does not depend on where a mismatch is.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
