import { errors } from 'oidc-provider';
import { OIDC_VERIFIABLE_CLAIMS, oidcClaimsOf } from '../identity/credential-mapping.ts';
import type { CredentialRecord, CredentialsRepo } from '../storage/credentials-repo.ts';

/**
 * OpenID Connect for Identity Assurance 1.0 (`verified_claims`), which oidc-provider does not
 * know: what a person's wallet holds as verified (credentials with Identity Assurance
 * evidence, put there by the verification engine) becomes `verified_claims` in userinfo and
 * the ID token, filtered the way the specification says a request filters it:
 *
 * - scope `kyc` alone asks for everything verified (in userinfo: the ID token carries only
 *   what the `claims` parameter asks for, as OpenID Connect Core §5.4 wants);
 * - the `claims` parameter's `verified_claims` asks for given claims and given parts of
 *   `verification`; `value`/`values` on `trust_framework` (or any element of `verification`)
 *   and `max_age` on any date or time (`time`, `date_of_issuance`…) are constraints: an entry
 *   that does not meet them is left out;
 * - `verified_claims` may be one request object or an array of them (IDA §5.6), each
 *   answered on its own;
 * - `trust_framework` is always returned; other `verification` elements only when asked;
 * - verified claims appear only inside `verified_claims`, never at the top level.
 */

export const KYC_SCOPE = 'kyc';
export const VERIFIED_CLAIMS = 'verified_claims';

export const CLAIMS_IN_VERIFIED_CLAIMS = OIDC_VERIFIABLE_CLAIMS;

/** Discovery metadata of Identity Assurance 1.0 §8 (oidc-provider's `discovery` option). */
export function identityAssuranceDiscovery(trustFrameworks: string[]): Record<string, unknown> {
  return {
    verified_claims_supported: true,
    trust_frameworks_supported: trustFrameworks,
    evidence_supported: ['document'],
    documents_supported: ['passport', 'idcard', 'driving_permit', 'residence_permit'],
    // The checks idflow and its providers report in check_details.
    documents_check_methods_supported: ['vri', 'vcrypt', 'pvr', 'bvr', 'data'],
    claims_in_verified_claims_supported: CLAIMS_IN_VERIFIED_CLAIMS,
  };
}

export interface VerifiedClaimsEntry {
  verification: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/**
 * One `verified_claims` entry per verification behind the person's newest verified
 * credentials (credentials arrive grouped by type, newest first).
 */
export function verifiedClaimsFrom(credentials: CredentialRecord[]): VerifiedClaimsEntry[] {
  const newest = new Map<string, CredentialRecord>();
  for (const c of credentials) if (isAssurance(c.evidence) && !newest.has(c.type)) newest.set(c.type, c);
  const groups = new Map<string, VerifiedClaimsEntry>();
  for (const c of newest.values()) {
    const key = c.verificationId ?? JSON.stringify(c.evidence);
    const entry = groups.get(key) ?? { verification: c.evidence!, claims: {} };
    Object.assign(entry.claims, oidcClaimsOf(c));
    groups.set(key, entry);
  }
  return [...groups.values()]
    .filter((e) => Object.keys(e.claims).length > 0)
    .sort((a, b) => String(b.verification.time ?? '').localeCompare(String(a.verification.time ?? '')));
}

/**
 * What `verified_claims` holds for one response, or undefined when nothing may or can be
 * returned. `request` is the `verified_claims` member of the claims parameter for this
 * response (userinfo or id_token), undefined when only the scope asked.
 */
export function selectVerifiedClaims(entries: VerifiedClaimsEntry[], request: unknown, now: Date): VerifiedClaimsEntry | VerifiedClaimsEntry[] | undefined {
  const selected = request === undefined || request === null ? entries : unique(requestsOf(request).flatMap((r) => entries.flatMap((e) => matchEntry(e, r, now) ?? [])));
  if (selected.length === 0) return undefined;
  return selected.length === 1 ? selected[0] : selected;
}

/** The request objects of a `verified_claims` request: one, or several (the array form, IDA §5.6), each answered on its own. */
function requestsOf(request: unknown): Record<string, unknown>[] {
  return Array.isArray(request) ? request.map(obj) : [obj(request)];
}

/** Two request objects that select the same thing answer it once. */
function unique(entries: VerifiedClaimsEntry[]): VerifiedClaimsEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    const key = JSON.stringify(e);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** Should this response carry `verified_claims`, and filtered by which request? */
export function verifiedClaimsWanted(scope: string, requested: Record<string, unknown> | undefined, rejected: string[]): { wanted: boolean; request: unknown } {
  if (rejected.includes(VERIFIED_CLAIMS)) return { wanted: false, request: undefined };
  if (requested && VERIFIED_CLAIMS in requested) return { wanted: true, request: requested[VERIFIED_CLAIMS] };
  return { wanted: scope.split(' ').includes(KYC_SCOPE), request: undefined };
}

const CONSTRAINT_KEYS = new Set(['essential', 'purpose', 'value', 'values', 'max_age']);

function matchEntry(entry: VerifiedClaimsEntry, request: Record<string, unknown>, now: Date): VerifiedClaimsEntry | undefined {
  const verificationRequest = obj(request.verification);
  const verification: Record<string, unknown> = { trust_framework: entry.verification.trust_framework };
  for (const [element, elementRequest] of Object.entries(verificationRequest)) {
    const projected = project(entry.verification[element], elementRequest, now);
    if (projected === MISMATCH) return undefined;
    if (projected !== undefined) verification[element] = projected;
  }
  const claims: Record<string, unknown> = {};
  for (const claim of Object.keys(obj(request.claims))) {
    if (entry.claims[claim] !== undefined) claims[claim] = entry.claims[claim];
  }
  // Nothing asked for is verified here: this entry has nothing to say.
  if (Object.keys(claims).length === 0) return undefined;
  return { verification, claims };
}

const MISMATCH = Symbol('mismatch');

/**
 * The part of `value` a request element asks for: null or constraints only → the value (if
 * it meets them), an object of sub-requests → those members, an array request (evidence) →
 * the items matching one of its item requests. MISMATCH when a constraint is not met.
 */
function project(value: unknown, request: unknown, now: Date): unknown {
  if (request === null || request === undefined) return value;
  const r = obj(request);
  if (Array.isArray(request)) {
    if (!Array.isArray(value)) return MISMATCH;
    const items = value.flatMap((item) => {
      for (const itemRequest of request) {
        const projected = project(item, itemRequest, now);
        if (projected !== MISMATCH) return [projected];
      }
      return [];
    });
    return items.length ? items : MISMATCH;
  }
  if (!meets(value, r, now)) return MISMATCH;
  const subRequests = Object.entries(r).filter(([key]) => !CONSTRAINT_KEYS.has(key));
  if (subRequests.length === 0 || !isObject(value)) return value;
  // `type` identifies an evidence item; it is always returned with it.
  const out: Record<string, unknown> = 'type' in value ? { type: value.type } : {};
  for (const [key, subRequest] of subRequests) {
    const projected = project(value[key], subRequest, now);
    if (projected === MISMATCH) return MISMATCH;
    if (projected !== undefined) out[key] = projected;
  }
  return out;
}

function meets(value: unknown, request: Record<string, unknown>, now: Date): boolean {
  if ('value' in request && request.value !== value) return false;
  if (Array.isArray(request.values) && !request.values.includes(value)) return false;
  // max_age applies to every date and time (IDA §5.5.2): `time`, an evidence's `time`, a
  // document's `date_of_issuance`…; a value that is no date cannot show it is recent enough.
  if (typeof request.max_age === 'number') {
    const at = dateOf(value);
    if (at === undefined || now.getTime() - at > request.max_age * 1000) return false;
  }
  return true;
}

/** A date (`2021-03-04`, midnight UTC) or timestamp (`2021-03-04T10:00:00Z`) as epoch ms. */
function dateOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}(?:$|T)/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * Checks the claims parameter at the authorization endpoint (oidc-provider's
 * `assertClaimsParameter`): its default rule (members are null or objects), plus Identity
 * Assurance's: `verified_claims` has `verification` and a non-empty `claims`, `purpose` is
 * 3-300 characters, `max_age` a whole number of seconds; only a client allowed the `kyc`
 * scope may ask for verified claims.
 */
export function assertClaimsParameter(claims: Record<string, unknown>, clientScope: string | undefined): void {
  for (const target of ['userinfo', 'id_token'] as const) {
    const members = claims[target];
    if (members === undefined) continue;
    for (const [name, member] of Object.entries(obj(members))) {
      if (name === VERIFIED_CLAIMS && Array.isArray(member)) {
        if (member.length === 0) throw new errors.InvalidRequest(`claims.${target}.verified_claims must not be an empty array`);
        member.forEach((request, i) => assertVerifiedClaimsRequest(request, `claims.${target}.verified_claims[${i}]`, clientScope));
        continue;
      }
      if (member !== null && !isObject(member)) throw new errors.InvalidRequest(`claims.${target} members must be null or objects`);
      if (name === VERIFIED_CLAIMS) assertVerifiedClaimsRequest(member, `claims.${target}.verified_claims`, clientScope);
      else checkElements(member, `claims.${target}.${name}`);
    }
  }
}

/** One `verified_claims` request object: `verification` and a non-empty `claims`, from a client allowed `kyc`. */
function assertVerifiedClaimsRequest(request: unknown, path: string, clientScope: string | undefined): void {
  if (request !== null && !isObject(request)) throw new errors.InvalidRequest(`${path} must be a request object`);
  checkElements(request, path);
  if (!(clientScope ?? '').split(' ').includes(KYC_SCOPE)) throw new errors.InvalidRequest('this client may not request verified_claims');
  if (!isObject(request) || !isObject(request.verification)) throw new errors.InvalidRequest(`${path}.verification must be an object`);
  if (!isObject(request.claims) || Object.keys(request.claims).length === 0) throw new errors.InvalidRequest(`${path}.claims must be a non-empty object`);
}

/** `purpose` and `max_age` wherever they appear in a claims request. */
function checkElements(node: unknown, path: string): void {
  if (Array.isArray(node)) return node.forEach((item, i) => checkElements(item, `${path}[${i}]`));
  if (!isObject(node)) return;
  if ('purpose' in node) {
    const purpose = node.purpose;
    if (typeof purpose !== 'string' || purpose.length < 3 || purpose.length > 300) {
      throw new errors.InvalidRequest(`${path}.purpose must be a string of 3 to 300 characters`);
    }
  }
  if ('max_age' in node && (typeof node.max_age !== 'number' || !Number.isInteger(node.max_age) || node.max_age < 0)) {
    throw new errors.InvalidRequest(`${path}.max_age must be a whole number of seconds`);
  }
  for (const [key, child] of Object.entries(node)) if (!CONSTRAINT_KEYS.has(key)) checkElements(child, `${path}.${key}`);
}

function isAssurance(evidence: Record<string, unknown> | undefined): evidence is Record<string, unknown> {
  return isObject(evidence) && typeof evidence.trust_framework === 'string';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

/** Where verified claims come from; absent, a deployment simply has none. */
export interface IdentityAssuranceDeps {
  credentials: Pick<CredentialsRepo, 'listValid'>;
  /** For discovery's `trust_frameworks_supported`. */
  trustFrameworks: string[];
}

/**
 * The `verified_claims` member of an account's claims (oidc-provider's
 * `claims(use, scope, claims, rejected)`), or nothing.
 */
export async function verifiedClaimsOf(
  deps: IdentityAssuranceDeps | undefined,
  userId: string,
  scope: string,
  requested: Record<string, unknown> | undefined,
  rejected: string[],
  now: Date,
): Promise<{ verified_claims?: unknown }> {
  if (!deps) return {};
  const { wanted, request } = verifiedClaimsWanted(scope, requested, rejected);
  if (!wanted) return {};
  const entries = verifiedClaimsFrom(await deps.credentials.listValid(userId, now));
  const selected = selectVerifiedClaims(entries, request, now);
  return selected ? { verified_claims: selected } : {};
}
