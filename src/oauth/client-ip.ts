import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * The HTTP layer decides what the caller's IP is (honouring IDFLOW_TRUST_PROXY) and hands
 * it to the OAuth engine in this header, after removing any value the caller sent.
 */
export const CLIENT_IP_HEADER = 'x-idflow-client-ip';

export function clientIpOf(ctx: KoaContextWithOIDC): string {
  return ctx.get(CLIENT_IP_HEADER) || ctx.ip;
}
