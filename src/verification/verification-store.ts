import type { VersionedStore } from '../flows/versioned-change.ts';
import { isTerminal } from '../flows/engine.ts';
import { credentialsFromDocument } from '../identity/credential-mapping.ts';
import { Wallet } from '../identity/wallet.ts';
import type { Clock } from '../kernel/clock.ts';
import { CredentialsRepo } from '../storage/credentials-repo.ts';
import type { Db, Queryable } from '../storage/db.ts';
import { EventsRepo } from '../storage/events-repo.ts';
import type { Sealer } from '../storage/sealer.ts';
import type { VerificationRecord, VerificationsRepo } from '../storage/verifications-repo.ts';
import type { VerificationState } from './types.ts';
import { VERIFICATION, type VerificationMove } from './verification-flow.ts';

export interface VerificationStoreDeps {
  db: Db;
  repo: VerificationsRepo;
  sealer: Sealer;
  clock: Clock;
  /** The Identity Assurance element the wallet's credentials carry as evidence. */
  evidenceOf: (record: VerificationRecord) => Record<string, unknown>;
}

/**
 * How a move of a verification is written: the row (under the version that was read), its
 * images, its event and — when a verification of a known person becomes verified — the
 * credentials in their wallet, in one transaction. A step that fails stores nothing.
 */
export class VerificationStore {
  readonly #deps: VerificationStoreDeps;

  constructor(deps: VerificationStoreDeps) {
    this.#deps = deps;
  }

  /** One verification as the flow engine's executor reads and writes it. */
  of(id: string): VersionedStore<VerificationState, VerificationRecord, VerificationMove> {
    return { read: () => this.#deps.repo.findById(id), write: (current, move) => this.#write(current, move) };
  }

  /** Undefined when the row changed since it was read (another request won the race). */
  async #write(current: VerificationRecord, move: VerificationMove): Promise<VerificationRecord | undefined> {
    const now = this.#deps.clock.now();
    return this.#deps.db.transaction(async (tx) => {
      const repo = this.#deps.repo.on(tx);
      const ends = move.to !== current.state && isTerminal(VERIFICATION, move.to);
      const updated = await repo.update(current, { ...move.changes, state: move.to, ...(ends ? { endedAt: now } : {}) }, now);
      if (!updated) return undefined;
      if (move.images) await repo.putImages(updated.id, move.images, now);
      if (move.dropPersonalData) await repo.deleteImages(updated.id);
      if (move.to !== current.state || move.event) {
        await new EventsRepo(tx).record(
          verificationEvent(move.event ?? `verification.${move.to}`, updated, {
            from: current.state,
            to: move.to,
            ...(updated.step ? { step: updated.step } : {}),
            ...(move.to === 'rejected' || move.to === 'expired' || move.to === 'cancelled' ? { reasons: updated.reasons } : {}),
          }),
          now,
        );
      }
      if (move.to === 'verified' && current.state !== 'verified' && updated.userId && updated.document) {
        const provenance = { verificationId: updated.id, sourceClientId: updated.clientId, evidence: this.#deps.evidenceOf(updated) };
        await this.#walletOn(tx).add(updated.userId, credentialsFromDocument(updated.document, provenance));
      }
      return updated;
    });
  }

  #walletOn(tx: Queryable): Wallet {
    const { sealer, clock } = this.#deps;
    return new Wallet(new CredentialsRepo(tx, sealer), new EventsRepo(tx), clock);
  }
}

/** A verification's event: ids, states and reason codes only, never a name, a number or an image. */
export function verificationEvent(type: string, v: VerificationRecord, payload: Record<string, unknown> = {}) {
  return { type, clientId: v.clientId, userId: v.userId, flowId: v.flowId, payload: { verificationId: v.id, provider: v.provider, ...payload } };
}
