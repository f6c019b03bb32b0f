import type { CheckDetail, DocumentData, RejectionReason, VerificationImages } from '../kernel/evidence.ts';

export type { CheckDetail, DocumentData, RejectionReason, VerificationImages } from '../kernel/evidence.ts';

/**
 * The verification engine's contract. A verification is one run of an identity-verification
 * provider (liveness, document, face match, electronic record) inside a flow. It is
 * asynchronous: `start` returns where to send the person; the result arrives later through
 * a callback/webhook or a poll, and the engine moves the verification through
 * `created → in_progress → verified | rejected | expired | cancelled`.
 *
 * A provider adapter knows one vendor's API and nothing else; everything else (state,
 * storage, sealing, credentials, events) is the engine's.
 */

export type VerificationState = 'created' | 'in_progress' | 'verified' | 'rejected' | 'expired' | 'cancelled';

export type VerificationResult =
  | {
      outcome: 'verified';
      document: DocumentData;
      images: VerificationImages;
      checks: CheckDetail[];
      /** The provider's own transaction id, for evidence and support. */
      providerTxn: string;
      verifiedAt: Date;
    }
  | { outcome: 'rejected'; reasons: RejectionReason[]; providerTxn?: string };

export interface StartInput {
  verificationId: string;
  /** Where the person returns when the provider is done (idflow's own URL for this verification). */
  returnUrl: string;
  /** Optional hints the provider may prefill (never required). */
  person?: { givenNames?: string; surname?: string };
  locale?: string;
}

export type StartResult =
  /** The person is sent to the vendor's own pages. */
  | { kind: 'redirect'; url: string; providerRef: string }
  /** The person goes through idflow's hosted pages at this path (the sandbox provider). */
  | { kind: 'hosted'; path: string; providerRef: string };

/** A callback from a vendor, already authenticated (signature checked) by the adapter. */
export interface ProviderEvent {
  providerRef: string;
  /**
   * A final result, or just progress (the person started/submitted). The result is read
   * only once the engine knows the session is one of its own: reading it may cost calls to
   * the vendor (its images), which a webhook about someone else's session must not cause.
   */
  result?: () => Promise<VerificationResult>;
  progress?: 'started' | 'submitted';
}

export interface InboundRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export interface VerificationProvider {
  readonly name: string;
  start(input: StartInput): Promise<StartResult>;
  /**
   * Verifies a webhook's signature and turns its body into an event; throws an AppError
   * with code `unauthenticated` when the signature is wrong (nothing is changed then).
   */
  parseWebhook?(request: InboundRequest): Promise<ProviderEvent>;
  /** Asks the vendor for the result of a session (when a webhook was missed). */
  fetchResult?(providerRef: string): Promise<VerificationResult | undefined>;
}
