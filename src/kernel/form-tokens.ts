import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './secrets.ts';

/**
 * A CSRF token bound to one page instance (an interaction, a flow): an HMAC of its id, so
 * nothing needs storing and a token lifted from one page is useless on another.
 */
export function formToken(key: Buffer, boundTo: string): string {
  return createHmac('sha256', key).update(`form:${boundTo}`).digest('base64url');
}

export function formTokenValid(key: Buffer, boundTo: string, presented: unknown): boolean {
  return typeof presented === 'string' && constantTimeEqual(formToken(key, boundTo), presented);
}
