import type { VerificationRecord } from '../storage/verifications-repo.ts';
import type { CheckDetail, DocumentData, RejectionReason, VerificationState } from './types.ts';

/** A verification as the rest of idflow sees it: the document only while verified and not deleted. */
export interface VerificationView {
  id: string;
  state: VerificationState;
  provider: string;
  clientId: string | undefined;
  userId: string | undefined;
  flowId: string | undefined;
  returnTo: string;
  reasons: RejectionReason[];
  document: DocumentData | undefined;
  checks: CheckDetail[];
  providerTxn: string | undefined;
  verifiedAt: Date | undefined;
  createdAt: Date;
  /** When it last changed (a step, a result): a waiting page waits from here. */
  updatedAt: Date;
  expiresAt: Date;
  dataDeleted: boolean;
}

export function toView(v: VerificationRecord): VerificationView {
  return {
    id: v.id,
    state: v.state as VerificationState,
    provider: v.provider,
    clientId: v.clientId,
    userId: v.userId,
    flowId: v.flowId,
    returnTo: v.returnTo,
    reasons: v.reasons,
    document: v.state === 'verified' && !v.dataDeletedAt ? v.document : undefined,
    checks: v.checks,
    providerTxn: v.providerTxn,
    verifiedAt: v.verifiedAt,
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
    expiresAt: v.expiresAt,
    dataDeleted: v.dataDeletedAt !== undefined,
  };
}
