import { formToken, formTokenValid } from '../kernel/form-tokens.ts';
import { randomToken } from '../kernel/ids.ts';
import { constantTimeEqual, hashSecret } from '../kernel/secrets.ts';

/**
 * A flow bound to a browser: the browser holds a random 256-bit secret (a cookie), the flow
 * only its hash, taken with the flow's id so a secret is worth nothing on another flow. A
 * fast hash suffices for a random secret (src/kernel/secrets.ts says why).
 */
export function newBrowserSecret(): string {
  return randomToken(32);
}

export function browserHash(flowId: string, secret: string): string {
  return hashSecret(`flow-browser:${flowId}:${secret}`);
}

export function browserMatches(flowId: string, stored: string | undefined, presented: string | undefined): boolean {
  return stored !== undefined && presented !== undefined && presented !== '' && constantTimeEqual(browserHash(flowId, presented), stored);
}

/**
 * A flow's forms carry an HMAC of the flow and of the browser it is bound to: nothing to
 * store, a token lifted from another flow's page is useless here, and binding the flow to a
 * browser makes the forms shown before it stale.
 */
export function flowFormToken(key: Buffer, flowId: string, boundTo: string | undefined): string {
  return formToken(key, `flow:${flowId}:${boundTo ?? ''}`);
}

export function flowFormTokenValid(key: Buffer, flowId: string, boundTo: string | undefined, presented: unknown): boolean {
  return formTokenValid(key, `flow:${flowId}:${boundTo ?? ''}`, presented);
}
