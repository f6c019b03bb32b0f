import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendWebKycApiError } from '../compat/authenteq-webkyc/errors.ts';
import { sendWebKycPageError } from '../compat/authenteq-webkyc/pages.ts';
import { sendVaultAppError } from '../compat/vault-reg-auth/errors.ts';
import { sendVerifiedError } from '../compat/verified-1click/errors.ts';
import { sendErrorPage } from './error-page.ts';
import { sendOAuthError } from './oauth-mount.ts';
import { sendWalletError } from './one-click-wallet-routes.ts';
import { toAppError } from '../kernel/to-app-error.ts';
import { sendProblem } from './problem.ts';

export type ErrorRenderer = (error: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply;

/**
 * Each surface's error renderer, by the paths it serves; first match wins. A route's errors
 * go to its scope's renderer; this table serves what comes before a route is found (an
 * unknown path, a URL that does not decode) and routes registered without a scope of their
 * own, so every answer is in the format of the surface its path belongs to.
 */
const SURFACES: ReadonlyArray<readonly [RegExp, ErrorRenderer]> = [
  [/^\/(oauth\/|\.well-known\/)/, sendOAuthError],
  [/^\/reg\/auth(\/|$)/, sendVaultAppError],
  [/^\/(authorize|web-kyc)(\/|$)/, sendWebKycPageError],
  [/^\/v2\/web-kyc(\/|$)/, sendWebKycApiError],
  [/^\/1-click\/wallet(\/|$)/, sendWalletError],
  [/^(\/v2)?\/1-click(\/|$)/, sendVerifiedError],
  // idflow's own hosted pages: sign-in and consent, the person's account, the verification's waiting page and sandbox steps.
  [/^\/(interaction\/|account(\/|$)|verification\/(sandbox\/|[^/]+\/return\/?$))/, sendErrorPage],
];

/** The native API's renderer: RFC 9457 problem+json. */
const sendNativeProblem: ErrorRenderer = (error, request, reply) => sendProblem(reply, toAppError(error, request), request);

export function errorRendererFor(url: string): ErrorRenderer {
  const path = url.split('?')[0]!;
  return SURFACES.find(([pattern]) => pattern.test(path))?.[1] ?? sendNativeProblem;
}
