import type { RejectionReason } from './types.ts';

/**
 * Reasons another attempt may overcome: a photo taken again, a line typed again, a person
 * who changed their mind, a vendor that did not answer in time. An expired document stays
 * expired and a vendor's decline stands, whatever is tried again.
 */
const RETRY_CAN_HELP: ReadonlySet<string> = new Set<RejectionReason>([
  'liveness_failed',
  'face_mismatch',
  'document_unreadable',
  'mrz_check_digit',
  'mrz_visual_mismatch',
  'provider_timeout',
  'cancelled_by_person',
]);

/** Whether trying the verification again can change its outcome; `expired` (the flow ran out of time) can. */
export function retryCanHelp(reasons: readonly string[]): boolean {
  return reasons.length > 0 && reasons.every((r) => RETRY_CAN_HELP.has(r) || r === 'expired');
}
