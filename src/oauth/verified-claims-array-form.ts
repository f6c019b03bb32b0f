import type Provider from 'oidc-provider';
import { VERIFIED_CLAIMS } from './verified-claims.ts';

/**
 * Lets `verified_claims` be requested as an array of request objects (Identity Assurance
 * §5.6). oidc-provider counts a member of the claims parameter only when it is null or an
 * object: an array would be neither shown at consent nor granted nor returned. Two reads
 * of the request are widened so that an array counts like an object; what the array asks
 * for is then answered by src/oauth/verified-claims.ts, which reads the request itself.
 */
export function acceptVerifiedClaimsArrayForm(provider: Provider): void {
  // What the claims parameter asks for (consent's missing claims, the grant).
  const context = provider.OIDCContext.prototype as object;
  const requested = Object.getOwnPropertyDescriptor(context, 'requestParamClaims')!.get!;
  Object.defineProperty(context, 'requestParamClaims', {
    configurable: true,
    get(this: { params: { claims?: unknown } }) {
      const claims = requested.call(this) as Set<string>;
      if (asksInArrayForm(this.params.claims)) claims.add(VERIFIED_CLAIMS);
      return claims;
    },
  });
  // Which claims a response includes (userinfo, ID token).
  const claims = provider.Claims.prototype as unknown as { mask(value: unknown): unknown };
  const mask = claims.mask;
  claims.mask = function maskWithArrayForm(this: unknown, value: unknown) {
    return mask.call(this, arrayFormAsObject(value));
  };
}

function asksInArrayForm(parameter: unknown): boolean {
  if (typeof parameter !== 'string') return false;
  try {
    const parsed = JSON.parse(parameter) as Record<string, Record<string, unknown> | undefined>;
    return [parsed.userinfo, parsed.id_token].some((target) => Array.isArray(target?.[VERIFIED_CLAIMS]));
  } catch {
    return false;
  }
}

/** A mask whose `verified_claims` is an array, with an object in its place: the mask only decides whether it is included. */
function arrayFormAsObject(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as Record<string, unknown>)[VERIFIED_CLAIMS])) return value;
  return { ...value, [VERIFIED_CLAIMS]: {} };
}
