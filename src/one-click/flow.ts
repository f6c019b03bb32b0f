import type { Environment, OneClickTitle } from './brand.ts';
import { defineFlow, type Flow } from '../flows/engine.ts';
import type { Integration, RequestNode } from './credential-requests.ts';
import type { Draft } from './draft.ts';
import type { OneClickEntity } from './entity.ts';
import type { AdditionalInput, OneClickReason, RiskSignals } from './errors.ts';

/**
 * One 1-Click request. `created`: a code is out (Hosted, Semi-Hosted); `awaiting_input`: the
 * code was right, a birth date / SSN4 is needed; `code_verified`: the person reviews the data
 * (Hosted); then `shared`, `declined` (Hosted), `failed` (a reason is kept) or `expired`.
 * Non-Hosted requests are verified by the operator and go from `created` to `shared` at once.
 * The right code binds a Hosted request to the browser that entered it (the engine's browser
 * binding): from then on only that browser sees the data and acts on the request.
 */
export const oneClickFlow = defineFlow({
  kind: 'one_click',
  initial: 'created',
  transitions: {
    created: ['awaiting_input', 'code_verified', 'shared', 'declined', 'failed', 'expired'],
    awaiting_input: ['code_verified', 'shared', 'declined', 'failed', 'expired'],
    code_verified: ['shared', 'declined', 'failed', 'expired'],
    shared: [],
    declined: [],
    failed: [],
    expired: [],
  },
  // The operator's setting (IDFLOW_ONE_CLICK_TTL_SECONDS) is given to each start.
  ttlSeconds: 1800,
  onExpiry: 'expired',
  // Wrong codes, as Verified documents: the third ends the request (code_attempts_exceeded).
  maxAttempts: 3,
  onAttemptsExhausted: 'failed',
  // Once over, only what GET may still return is kept: no draft or SSN4. (The code is not in
  // the data: it is one of the platform's codes, spent once right and gone with the flow.)
  keepOnEnd: ({ draft: _draft, ssn4: _ssn4, ...kept }: OneClickData): OneClickData => kept,
});

export type OneClickState = keyof typeof oneClickFlow.transitions;

export const OPEN_STATES: readonly OneClickState[] = ['created', 'awaiting_input', 'code_verified'];

/** Personal data of the request: sealed at rest with the flow. */
export interface OneClickData {
  phone: string;
  email?: string;
  birthDate?: string;
  ssn4?: string;
  requests: RequestNode[];
  /** The operator's redirect URL (Hosted); it may carry the operator's own identifiers. */
  redirectUrl?: string;
  riskSignals?: RiskSignals;
  /** What the person reviews (Hosted, state code_verified). */
  draft?: Draft;
  /** What was shared (state shared); GET returns it until the request expires. */
  entity?: OneClickEntity;
}

/** What is not personal: settings, times, reasons. */
export interface OneClickContext {
  integration: Integration;
  environment: Environment;
  /** Names this request's hold on the phone. */
  lockToken: string;
  subjectIndex: string;
  brandName: string;
  title: OneClickTitle;
  description?: string;
  /** Inputs asked for (awaiting_input). */
  needs?: AdditionalInput[];
  failure?: { reason: OneClickReason; additionalInputs?: AdditionalInput[] };
  [key: string]: unknown;
}

export type OneClickFlow = Flow<OneClickData, OneClickState> & { context: OneClickContext };
