import { errors } from 'oidc-provider';

/** Scopes every deployment knows, whatever its clients declare. */
export const STANDARD_SCOPES = ['openid', 'offline_access', 'email', 'phone'];

/**
 * What a token request may have: the client's allowed scopes when it asks for none, else
 * exactly what it asks for, every one of which must be allowed (an unknown scope is an
 * error, never silently dropped).
 */
export function resolveScopes(requested: string | undefined, allowed: string | undefined): string[] {
  const allowedScopes = (allowed ?? '').split(' ').filter(Boolean);
  if (!requested?.trim()) return allowedScopes;
  const asked = [...new Set(requested.split(' ').filter(Boolean))];
  const unknown = asked.filter((s) => !allowedScopes.includes(s));
  if (unknown.length > 0) throw new errors.InvalidScope(`requested scope is not allowed for this client: ${unknown.join(' ')}`, unknown.join(' '));
  return asked;
}
