import type { VerificationView } from './view.ts';

/** The Identity Assurance `verification` element (OpenID Connect for Identity Assurance 1.0). */
export interface AssuranceElement {
  trust_framework: string;
  time: string;
  verification_process: string;
  evidence: object[];
}

/** The `verification` element of a verified view, under the provider's trust framework. */
export function assuranceOf(view: VerificationView, trustFramework: string): AssuranceElement {
  const time = isoSeconds(view.verifiedAt ?? view.createdAt);
  const doc = view.document;
  const evidence: Record<string, unknown> = {
    type: 'document',
    // Unsupervised remote proofing: document images, a self-portrait and a liveness check.
    method: 'uripp',
    time,
    ...(doc
      ? {
          document_details: {
            type: doc.documentType,
            document_number: doc.documentNumber,
            ...(doc.dateOfIssue ? { date_of_issuance: doc.dateOfIssue } : {}),
            date_of_expiry: doc.dateOfExpiry,
            issuer: { country_code: doc.issuingCountry },
          },
        }
      : {}),
    check_details: view.checks,
  };
  return { trust_framework: trustFramework, time, verification_process: view.id, evidence: [evidence] };
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
