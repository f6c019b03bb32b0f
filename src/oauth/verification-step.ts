import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../kernel/clock.ts';
import { VERIFIED_CLAIMS, selectVerifiedClaims, verifiedClaimsFrom, verifiedClaimsWanted, type IdentityAssuranceDeps } from './verified-claims.ts';

/** The name of the step in the interaction (and in the hosted pages' view of it). */
export const VERIFICATION_PROMPT = 'verification';

/** What the interaction remembers of the step: the verification started and whether it is over. */
export interface VerificationStepResult {
  verificationId: string;
  settled: boolean;
}

/**
 * The authorization flow's prompts: sign-in, then a verification of the person's identity
 * when the client asks for verified claims the wallet cannot answer, then consent (as
 * Keycloak's required actions). The verification step applies to clients registered with
 * `verification_step`; for others a request the wallet cannot meet simply gets no
 * `verified_claims`. One verification per authorization: once it is over the flow goes on
 * to consent whatever it found, and the client gets what the wallet then holds.
 */
export function interactionPolicyWithVerification(deps: { identityAssurance: IdentityAssuranceDeps | undefined; clock: Clock }): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  const { identityAssurance } = deps;
  // Without a verification provider there is nothing to offer.
  if (!identityAssurance?.trustFrameworks.length) return policy;
  const step = new interactionPolicy.Prompt(
    { name: VERIFICATION_PROMPT, requestable: false },
    new interactionPolicy.Check('verified_claims_missing', 'the person holds no verified claims that meet the request', 'interaction_required', (ctx) =>
      needsVerification(ctx, identityAssurance, deps.clock.now()),
    ),
  );
  policy.add(step, policy.findIndex((p) => p.name === 'consent'));
  return policy;
}

async function needsVerification(ctx: KoaContextWithOIDC, identityAssurance: IdentityAssuranceDeps, now: Date): Promise<boolean> {
  const { oidc } = ctx;
  const accountId = oidc.session?.accountId;
  if (!accountId || !oidc.client || (oidc.client as unknown as { verification_step?: boolean }).verification_step !== true) return false;
  if ((oidc.result?.[VERIFICATION_PROMPT] as VerificationStepResult | undefined)?.settled) return false;
  const requests = requestsOf(String(oidc.params?.scope ?? ''), oidc.params?.claims);
  if (requests.length === 0) return false;
  const entries = verifiedClaimsFrom(await identityAssurance.credentials.listValid(accountId, now));
  return requests.some((request) => selectVerifiedClaims(entries, request, now) === undefined);
}

/**
 * The `verified_claims` requests of an authorization request, one per response that would
 * carry them (undefined: the scope alone asks, for userinfo); none when nothing asks.
 */
function requestsOf(scope: string, claimsParameter: unknown): unknown[] {
  let claims: Record<string, Record<string, unknown> | undefined> = {};
  // The parameter was checked (src/oauth/verified-claims.ts) before any prompt runs.
  if (typeof claimsParameter === 'string') claims = JSON.parse(claimsParameter) as typeof claims;
  const requests: unknown[] = [];
  const userinfo = verifiedClaimsWanted(scope, claims.userinfo, []);
  if (userinfo.wanted) requests.push(userinfo.request);
  if (claims.id_token && VERIFIED_CLAIMS in claims.id_token) requests.push(claims.id_token[VERIFIED_CLAIMS]);
  return requests;
}
