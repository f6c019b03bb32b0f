import { randomBytes } from 'node:crypto';
import { defineCodeKind } from '../codes/codes.ts';
import { defineFlow } from '../flows/engine.ts';
import { randomToken } from '../kernel/ids.ts';

/**
 * One Web KYC attempt, from the operator's authorization request to the hand-over of the
 * verified details. The verification itself is a state machine of its own (the engine's);
 * this flow is the OAuth side around it: intro → verification → code → token.
 */
export const webKycFlow = defineFlow({
  kind: 'web_kyc',
  initial: 'created',
  transitions: {
    created: ['verifying', 'failed', 'expired'],
    // Not to `expired`: once started, the verification's outcome is looked at first (a
    // lapsed flow still waiting then fails with `expired`; a failed verification shortens
    // its flow's life to be purged soon, yet the person coming back learns why).
    verifying: ['code_issued', 'failed'],
    code_issued: ['exchanged'],
    // A second exchange of the code revokes the token the first one got (RFC 6749 §4.1.2).
    exchanged: ['revoked'],
    failed: [],
    expired: [],
    revoked: [],
  },
  // From the start of the verification: long enough for an asynchronous verification to
  // come back; shortened once a code exists. Before it starts, a flow lives INTRO_TTL_SECONDS.
  ttlSeconds: 3600,
  // A person who let the introduction lapse goes back to the operator with access_denied/expired.
  // Once a code exists, its lifetime and the token's are the hand-over's to judge.
  onExpiry: 'expired',
});

/**
 * A flow the person never started (anyone with a client's public id can open one) expires
 * after this long, and the periodic purge deletes it.
 */
export const INTRO_TTL_SECONDS = 10 * 60;

export type WebKycState = keyof typeof webKycFlow.transitions;

/** The flow's sealed data: what the operator's request carried. */
export interface WebKycData {
  redirectUri: string;
  state: string;
  backUrl?: string | undefined;
}

/** The flow's context (nothing personal): settings and what happened. */
export interface WebKycContext {
  provider: string;
  verificationId?: string;
  /** Why the flow failed: a verification reason code or `cancelled_by_person`. */
  reason?: string;
  [key: string]: unknown;
}

/** Lifetimes the seed documents: a code lives 60 s, a token 15 min and cannot be refreshed. */
export const CODE_TTL_SECONDS = 60;
export const TOKEN_TTL_SECONDS = 15 * 60;

/** The code the browser carries back to the operator: 256 bits, alphanumeric as the seed describes it. */
export const webKycCode = defineCodeKind({ purpose: 'web_kyc.code', lifetimeSeconds: CODE_TTL_SECONDS, presented: 'alone', generate: () => randomBytes(32).toString('hex') });
/** The token the code is exchanged for: it reads the verified details until it expires. */
export const webKycToken = defineCodeKind({ purpose: 'web_kyc.token', lifetimeSeconds: TOKEN_TTL_SECONDS, presented: 'alone', generate: () => randomToken(32) });

/** Where the browser comes back to once the verification settled; the engine is given this path. */
export const WEB_KYC_PAGES = '/web-kyc/flows';
export const continuePath = (flowId: string) => `${WEB_KYC_PAGES}/${flowId}/continue`;
