import type { JWK } from 'jose';
import type { Clock } from '../kernel/clock.ts';
import { pageOf, type Paging } from '../kernel/paging.ts';
import { holdAdvisoryLock } from '../storage/advisory-locks.ts';
import { AuditLogRepo, type AuditEntry, type AuditFilter } from '../storage/audit-log-repo.ts';
import type { Db } from '../storage/db.ts';
import { EventsRepo } from '../storage/events-repo.ts';
import { checkpointProblems, signCheckpoint, type AuditKey, type Checkpoint } from './checkpoint.ts';
import { verifyChains, type VerifyReport } from './verify.ts';

/** The event a checkpoint is published as (platform stream, no client). */
export const CHECKPOINT_EVENT = 'audit.checkpoint';

export interface AuditPage {
  entries: AuditEntry[];
  /** Give it back as `cursor` for the next (older) page; absent on the last page. */
  nextCursor: string | undefined;
}

export interface AuditVerification extends VerifyReport {
  /** Why the kept checkpoint itself does not hold (bad signature, root), when one was given. */
  checkpointProblems: string[];
}

/**
 * The audit log as the platform offers it: listing (for the admin API and the CLI),
 * checkpoints (made by the server periodically and by `idflow audit checkpoint`), and
 * verification. Entries are written by the database itself (migration 016), never here.
 */
export class AuditLog {
  readonly #db: Db;
  readonly #repo: AuditLogRepo;
  readonly #key: AuditKey;
  readonly #clock: Clock;
  readonly #everyMs: number;

  constructor(deps: { db: Db; key: AuditKey; clock: Clock; checkpointEverySeconds: number }) {
    this.#db = deps.db;
    this.#repo = new AuditLogRepo(deps.db);
    this.#key = deps.key;
    this.#clock = deps.clock;
    this.#everyMs = deps.checkpointEverySeconds * 1000;
  }

  /** The public key checkpoints are signed with, to publish to operators. */
  get publicKey(): JWK {
    return this.#key.publicJwk;
  }

  /** Entries matching `filter`, newest first, a page at a time. */
  async list(filter: Omit<AuditFilter, 'beforeId'>, paging: Paging = {}): Promise<AuditPage> {
    const page = await pageOf(paging, (beforeId, limit) => this.#repo.list({ ...filter, beforeId }, limit));
    return { entries: page.items, nextCursor: page.nextCursor };
  }

  /**
   * Signs the heads of every stream and publishes them as an `audit.checkpoint` event, in
   * one transaction under a lock, so nodes checkpointing together make one each in turn.
   * `ifOlderThanMs`: only when the newest checkpoint is at least that old.
   */
  async checkpoint(ifOlderThanMs = 0): Promise<Checkpoint | undefined> {
    return this.#db.transaction(async (tx) => {
      await holdAdvisoryLock(tx, 'auditCheckpoint');
      const repo = new AuditLogRepo(tx);
      const now = this.#clock.now();
      const latest = ifOlderThanMs > 0 ? await repo.latestCheckpoint() : undefined;
      if (latest && now.getTime() - latest.createdAt.getTime() < ifOlderThanMs) return undefined;
      const checkpoint = signCheckpoint(this.#key, now, await repo.heads());
      await new EventsRepo(tx).record({ type: CHECKPOINT_EVENT, payload: { ...checkpoint } }, now);
      return checkpoint;
    });
  }

  /** A checkpoint when the configured interval has passed since the last one (the server calls this every minute). */
  checkpointIfDue(): Promise<Checkpoint | undefined> {
    return this.#everyMs > 0 ? this.checkpoint(this.#everyMs) : Promise.resolve(undefined);
  }

  /**
   * Checks every chain, and, given a checkpoint an operator kept, that it is genuine
   * (signed by `publicJwk`, by default this platform's key) and that the log still holds it.
   */
  async verify(kept?: Checkpoint, publicJwk: JWK = this.#key.publicJwk): Promise<AuditVerification> {
    const problems = kept ? checkpointProblems(kept, publicJwk) : [];
    // A checkpoint that is not genuine proves nothing: the chains are checked without it.
    const report = await verifyChains(this.#repo, kept && !problems.length ? kept.streams : []);
    return { ...report, checkpointProblems: problems };
  }
}

/** An entry as shown to an operator (the admin API): hashes in hex, times in RFC 3339. */
export function auditEntryView(e: AuditEntry) {
  return {
    id: e.id,
    stream: e.stream,
    seq: e.seq,
    at: e.at.toISOString(),
    action: e.action,
    client_id: e.clientId ?? null,
    user_id: e.userId ?? null,
    flow_id: e.flowId ?? null,
    subject: e.subject ?? null,
    event_id: e.eventId ?? null,
    payload_digest: e.payloadDigest ?? null,
    columns: e.columns ?? null,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}
