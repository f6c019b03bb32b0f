import { errors } from 'oidc-provider';
import { KYC_SCOPE, VERIFIED_CLAIMS } from './verified-claims.ts';

/** Scopes every deployment knows, whatever its clients declare. */
export const STANDARD_SCOPES = ['openid', 'offline_access', 'email', 'phone'];

/**
 * The claims each scope lets a client read (OpenID Connect Core §5.4; `kyc` for Identity
 * Assurance): the engine releases them, and a consent names them as what was handed over.
 */
export const SCOPE_CLAIMS: Record<string, string[]> = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  [KYC_SCOPE]: [VERIFIED_CLAIMS],
};

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

/**
 * The scope of the admin API (/admin/*): a client registered with it may ask for a
 * client-credentials token that manages every client's subscriptions and reads the
 * events and the audit log. It is granted like any other scope (CLI, import file).
 */
export const ADMIN_SCOPE = 'idflow:admin';
