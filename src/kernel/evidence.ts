/**
 * What a verification establishes about a person's identity document, in the shapes every
 * layer stores and hands on (the verification engine, the wallet's credential mapping, the
 * repositories, the doors): the vocabulary of Identity Assurance evidence, types only.
 */

declare const normalised: unique symbol;
/** JPEG bytes that came out of `normaliseImage` (src/verification/documents/): the only image bytes the verification engine stores. */
export type NormalisedImage = Buffer & { readonly [normalised]: true };

/** Stable reason codes for a rejection (documented in docs/verification.md). */
export type RejectionReason =
  | 'liveness_failed'
  | 'face_mismatch'
  | 'document_expired'
  | 'document_unreadable'
  | 'mrz_check_digit'
  | 'mrz_visual_mismatch'
  | 'provider_timeout'
  | 'provider_declined'
  | 'cancelled_by_person';

/** What a document says, normalised across providers (dates yyyy-mm-dd, countries ISO 3166-1 alpha-3 as in the MRZ). */
export interface DocumentData {
  documentType: 'passport' | 'idcard' | 'driving_permit' | 'residence_permit' | 'other';
  documentNumber: string;
  issuingCountry: string;
  givenNames: string;
  surname: string;
  dateOfBirth: string;
  nationality: string | undefined;
  dateOfIssue: string | undefined;
  dateOfExpiry: string;
  sex: 'M' | 'F' | 'X' | undefined;
}

/**
 * The document images and the face, each normalised when it arrived (a JPEG without
 * metadata, within the image limits): the type lets nothing else be stored.
 */
export interface VerificationImages {
  documentFront?: NormalisedImage;
  documentBack?: NormalisedImage;
  face?: NormalisedImage;
}

/** One check the provider (or idflow itself) made, for Identity Assurance `check_details`. */
export interface CheckDetail {
  /** e.g. 'vpip' (physical document inspection), 'vcrypt', 'data', 'bvr' (biometric), 'pvr' (liveness). */
  check_method: string;
  organization?: string;
  txn?: string;
  time?: string;
}
