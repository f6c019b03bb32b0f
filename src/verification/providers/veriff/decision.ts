import { randomUUID } from 'node:crypto';
import iso3166 from 'iso-3166-1';
import type { Clock } from '../../../kernel/clock.ts';
import { isExpired } from '../../documents/index.ts';
import { isCalendarDate } from '../../documents/mrz-dates.ts';
import type { CheckDetail, DocumentData, RejectionReason, VerificationResult } from '../../types.ts';

/**
 * Veriff's decision (the decision webhook's body and `GET /v1/sessions/{id}/decision`
 * share it) turned into a VerificationResult. Only the fields idflow uses are named here;
 * Veriff adds fields over time (its "backwards compatible changes"), so everything else is
 * ignored rather than refused.
 */
export interface VeriffDecision {
  status?: string;
  verification?: {
    id?: string;
    attemptId?: string;
    status?: string;
    code?: number;
    reason?: string | null;
    reasonCode?: number | null;
    vendorData?: string | null;
    decisionTime?: string | null;
    acceptanceTime?: string | null;
    person?: {
      firstName?: string | null;
      lastName?: string | null;
      dateOfBirth?: string | null;
      gender?: string | null;
      nationality?: string | null;
    } | null;
    document?: {
      number?: string | null;
      type?: string | null;
      country?: string | null;
      validFrom?: string | null;
      validUntil?: string | null;
    } | null;
  } | null;
}

/** What a decision means for the engine: a final result, or a step in between. */
export type Mapped = { result: VerificationResult } | { progress: 'started' | 'submitted' };

const DOCUMENT_TYPES: Record<string, DocumentData['documentType']> = {
  PASSPORT: 'passport',
  ID_CARD: 'idcard',
  DRIVERS_LICENSE: 'driving_permit',
  RESIDENCE_PERMIT: 'residence_permit',
};

/**
 * Decline reason codes (Veriff's "verification session decision codes" and "granular
 * reason codes" tables) that name something idflow has its own reason for; every other
 * decline is `provider_declined`.
 */
const DECLINE_REASONS: Record<number, RejectionReason> = {
  103: 'face_mismatch', // Person showing the document does not appear to match document photo
  120: 'face_mismatch', // Person on the portrait does not appear to match reference photo
};

const ORGANIZATION = 'veriff';

/** ISO 3166-1 alpha-2 (Veriff) → alpha-3 (the MRZ's, and DocumentData's). */
function alpha3(code: string | null | undefined): string | undefined {
  if (!code) return undefined;
  const upper = code.trim().toUpperCase();
  if (/^[A-Z]{3}$/.test(upper)) return upper;
  return iso3166.whereAlpha2(upper)?.alpha3;
}

/** The decision alone: an approval's images are the adapter's to fetch (they cost calls to Veriff). */
export function mapDecision(body: VeriffDecision, clock: Clock): Mapped | undefined {
  const v = body.verification;
  if (!v?.status || !v.id) return undefined;
  switch (v.status) {
    case 'approved':
      return { result: approved(v, clock) };
    case 'declined':
      return { result: { outcome: 'rejected', reasons: [DECLINE_REASONS[v.reasonCode ?? -1] ?? 'provider_declined'], providerTxn: v.id } };
    case 'expired':
      return { result: { outcome: 'rejected', reasons: ['provider_timeout'], providerTxn: v.id } };
    case 'abandoned':
      return { result: { outcome: 'rejected', reasons: ['cancelled_by_person'], providerTxn: v.id } };
    // Not final: the person is asked to try again, or a person at Veriff looks at it.
    case 'resubmission_requested':
      return { progress: 'started' };
    case 'review':
      return { progress: 'submitted' };
    default:
      return undefined;
  }
}

/**
 * An approval becomes a verified result only if idflow's own checks on the data pass too.
 * Veriff's decision carries no MRZ, so the MRZ checks cannot run; what can is checked
 * (every field present, real dates, not expired by idflow's clock) and listed as the
 * `data` check next to Veriff's own.
 */
function approved(v: NonNullable<VeriffDecision['verification']>, clock: Clock): VerificationResult {
  const person = v.person ?? {};
  const doc = v.document ?? {};
  const issuingCountry = alpha3(doc.country);
  const unreadable: VerificationResult = { outcome: 'rejected', reasons: ['document_unreadable'], providerTxn: v.id! };
  if (!person.firstName || !person.lastName || !person.dateOfBirth || !doc.number || !doc.validUntil || !issuingCountry) return unreadable;
  const dates = [person.dateOfBirth, doc.validUntil, ...(doc.validFrom ? [doc.validFrom] : [])];
  if (!dates.every(isCalendarDate) || person.dateOfBirth >= doc.validUntil) return unreadable;
  if (isExpired(doc.validUntil, clock)) return { outcome: 'rejected', reasons: ['document_expired'], providerTxn: v.id! };
  const decided = v.decisionTime && !Number.isNaN(Date.parse(v.decisionTime)) ? new Date(v.decisionTime) : clock.now();
  const gender = person.gender?.toUpperCase();
  const document: DocumentData = {
    documentType: DOCUMENT_TYPES[doc.type ?? ''] ?? 'other',
    documentNumber: doc.number,
    issuingCountry,
    givenNames: person.firstName,
    surname: person.lastName,
    dateOfBirth: person.dateOfBirth,
    nationality: alpha3(person.nationality),
    dateOfIssue: doc.validFrom ?? undefined,
    dateOfExpiry: doc.validUntil,
    sex: gender === 'M' || gender === 'F' ? gender : undefined,
  };
  const checks: CheckDetail[] = [
    // Veriff validated the document from images and matched the face with a liveness capture.
    { check_method: 'vri', organization: ORGANIZATION, txn: v.id!, time: decided.toISOString() },
    { check_method: 'bvr', organization: ORGANIZATION, txn: v.attemptId ?? v.id!, time: decided.toISOString() },
    { check_method: 'data', organization: 'idflow', txn: randomUUID(), time: clock.now().toISOString() },
  ];
  return { outcome: 'verified', document, images: {}, checks, providerTxn: v.id!, verifiedAt: decided };
}
