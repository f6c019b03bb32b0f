import type { CredentialRecord, NewCredential } from '../storage/credentials-repo.ts';
import type { DocumentData } from '../kernel/evidence.ts';

/**
 * The one mapping between a person's verified data and what each door hands out. The
 * wallet speaks one vocabulary (credential types such as `fullName`, `birthDate`,
 * `address`, with the parts of a composite as object members); this module is the only
 * place that says how a verified document becomes credentials, and how credentials
 * become OpenID Connect claims, 1ClickEntity values or a document hand-over. The doors
 * (src/oauth/verified-claims.ts, src/one-click/, src/compat/authenteq-webkyc/) only render.
 */

/**
 * The parts of the wallet's composite credentials, in their documented order (the
 * 1ClickEntity's order too); a leaf credential is a string.
 */
export const COMPOSITE_PARTS: Readonly<Record<string, readonly string[]>> = {
  fullName: ['firstName', 'middleName', 'lastName'],
  address: ['line1', 'line2', 'city', 'state', 'zipCode', 'country'],
};

/** Where a credential came from: the verification and its Identity Assurance element. */
export interface Provenance {
  verificationId: string;
  sourceClientId: string | undefined;
  evidence: Record<string, unknown>;
}

/** What a verified document puts into the person's wallet, each piece with the same evidence. */
export function credentialsFromDocument(doc: DocumentData, provenance: Provenance): NewCredential[] {
  const base = {
    verificationMethod: 'document',
    ...provenance,
    // A credential read from a document is good while the document is: through its expiry day.
    expiresAt: new Date(Date.parse(`${doc.dateOfExpiry}T00:00:00.000Z`) + 86_400_000),
  };
  return [
    { type: 'fullName', value: { firstName: doc.givenNames, lastName: doc.surname }, ...base },
    { type: 'birthDate', value: doc.dateOfBirth, ...base },
    { type: 'documentNumber', value: doc.documentNumber, ...base },
    ...(doc.nationality ? [{ type: 'nationality', value: doc.nationality, ...base }] : []),
  ];
}

/**
 * The OpenID Connect standard claims a credential can stand for, and how. Only these are
 * returned inside `verified_claims` (and listed in discovery).
 */
const OIDC_CLAIMS: Record<string, (c: CredentialRecord) => unknown> = {
  given_name: (c) => (c.type === 'fullName' ? str(obj(c.value).firstName) : undefined),
  middle_name: (c) => (c.type === 'fullName' ? str(obj(c.value).middleName) : undefined),
  family_name: (c) => (c.type === 'fullName' ? str(obj(c.value).lastName) : undefined),
  birthdate: (c) => (c.type === 'birthDate' ? str(c.value) : undefined),
  nationalities: (c) => (c.type === 'nationality' && str(c.value) ? [c.value] : undefined),
  address: (c) => (c.type === 'address' ? oidcAddress(obj(c.value)) : undefined),
};

export const OIDC_VERIFIABLE_CLAIMS = Object.keys(OIDC_CLAIMS);

/** The OpenID Connect claims one credential stands for (none for types OIDC has no claim for). */
export function oidcClaimsOf(credential: CredentialRecord): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [claim, source] of Object.entries(OIDC_CLAIMS)) {
    const value = source(credential);
    if (value !== undefined) claims[claim] = value;
  }
  return claims;
}

/**
 * A credential as the 1ClickEntity carries it: a leaf string, or a composite's parts
 * (fullName → firstName, lastName…), blank values left out; undefined when nothing is left.
 */
export type CredentialParts = { kind: 'leaf'; value: string } | { kind: 'object'; parts: Record<string, string> };

export function credentialParts(credential: CredentialRecord): CredentialParts | undefined {
  const value = credential.value;
  if (typeof value === 'string') return value.trim() ? { kind: 'leaf', value } : undefined;
  const parts: Record<string, string> = {};
  for (const [part, v] of Object.entries(value)) if (typeof v === 'string' && v.trim()) parts[part] = v;
  return Object.keys(parts).length ? { kind: 'object', parts } : undefined;
}

/**
 * What a document hand-over discloses (Web KYC's details), in this order; absent optional
 * fields are null. The document type stays idflow's; a door names it in its vendor's words.
 */
export function documentDisclosure(d: DocumentData) {
  return {
    documentNumber: d.documentNumber,
    issuingCountry: d.issuingCountry,
    documentType: d.documentType,
    givenNames: d.givenNames,
    surname: d.surname,
    dateOfBirth: d.dateOfBirth,
    nationality: d.nationality ?? null,
    dateOfIssue: d.dateOfIssue ?? null,
    dateOfExpiry: d.dateOfExpiry,
    sex: d.sex ?? null,
  };
}

function oidcAddress(a: Record<string, unknown>): Record<string, unknown> | undefined {
  const address = {
    street_address: [str(a.line1), str(a.line2)].filter(Boolean).join('\n') || undefined,
    locality: str(a.city),
    region: str(a.state),
    postal_code: str(a.zipCode),
    country: str(a.country),
  };
  return Object.values(address).some((v) => v !== undefined) ? JSON.parse(JSON.stringify(address)) : undefined;
}

function obj(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
