import type { VerificationView } from '../verification/engine.ts';
import type { VerificationImages } from '../verification/types.ts';

/**
 * What Web KYC needs from the verification engine (src/verification/engine.ts), and nothing
 * more: start one for a flow, look at it, read it with its images, delete its data.
 */
export interface VerificationPort {
  /** Refused with `too_many_requests` beyond the start limits (per client address, per client). */
  start(input: { provider: string; clientId?: string | undefined; flowId?: string | undefined; returnTo: string; ip?: string | undefined }): Promise<{ verification: VerificationView; next: string }>;
  /** The verification, a pending one first brought up to date (expiry, a missed webhook). */
  refresh(id: string): Promise<VerificationView | undefined>;
  /** The verification and, while its data is not deleted, its images, in one read. */
  withImages(id: string): Promise<{ view: VerificationView; images: VerificationImages | undefined } | undefined>;
  cancel(id: string): Promise<VerificationView>;
  deleteData(id: string): Promise<void>;
  onSettled(listener: (view: VerificationView) => Promise<void>): void;
}
