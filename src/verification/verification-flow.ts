import { defineFlow } from '../flows/engine.ts';
import type { Move } from '../flows/versioned-change.ts';
import type { VerificationChanges } from '../storage/verifications-repo.ts';
import type { VerificationImages, VerificationResult, VerificationState } from './types.ts';

/**
 * The states of a verification and the only moves between them. A provider may answer
 * before the person was ever seen to start (a webhook with the decision), so every final
 * state is reachable from `created` as well as from `in_progress`.
 */
export const VERIFICATION = defineFlow<VerificationState>({
  kind: 'verification',
  initial: 'created',
  transitions: {
    created: ['in_progress', 'verified', 'rejected', 'expired', 'cancelled'],
    in_progress: ['verified', 'rejected', 'expired', 'cancelled'],
    verified: [],
    rejected: [],
    expired: [],
    cancelled: [],
  },
  ttlSeconds: 3600,
  onExpiry: 'expired',
});

/** One change to one verification, decided by looking at its current record. */
export interface VerificationMove extends Move<VerificationState> {
  changes?: Omit<VerificationChanges, 'state'>;
  images?: VerificationImages;
  /** Drop the images and the provider's step data (a verification that will not be verified keeps nothing personal). */
  dropPersonalData?: boolean;
  event?: string;
}

const OPEN: ReadonlySet<string> = new Set(['created', 'in_progress']);

/** Not settled yet: the person may still be going through it, or its result is awaited. */
export function isOpen(state: string): boolean {
  return OPEN.has(state);
}

/** A rejection whose reasons are only `provider_timeout` settles as `expired`, only `cancelled_by_person` as `cancelled`. */
export function outcomeState(result: VerificationResult): VerificationState {
  if (result.outcome === 'verified') return 'verified';
  const reasons = new Set(result.reasons);
  if (reasons.size === 1 && reasons.has('provider_timeout')) return 'expired';
  if (reasons.size === 1 && reasons.has('cancelled_by_person')) return 'cancelled';
  return 'rejected';
}

/** Time is up: expired, as a provider timeout, keeping nothing personal. */
export function expiryMove(): VerificationMove {
  return { to: VERIFICATION.onExpiry!, changes: { reasons: ['provider_timeout'], providerData: null }, dropPersonalData: true };
}
