import type { JWK } from 'jose';
import type { Clock } from '../kernel/clock.ts';
import { AppError } from '../kernel/errors.ts';
import { holdAdvisoryLock } from '../storage/advisory-locks.ts';
import { AuditLogRepo, type AuditEntry, type AuditFilter } from '../storage/audit-log-repo.ts';
import type { Db } from '../storage/db.ts';
import { EventsRepo } from '../storage/events-repo.ts';
import { checkpointProblems, signCheckpoint, type AuditKey, type Checkpoint } from './checkpoint.ts';
import { verifyChains, type VerifyReport } from './verify.ts';

/** The event a checkpoint is published as (platform stream, no client). */
export const CHECKPOINT_EVENT = 'audit.checkpoint';

export const LIST_LIMIT = { default: 50, max: 500 } as const;

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
  async list(filter: Omit<AuditFilter, 'beforeId'>, page: { limit?: number | undefined; cursor?: string | undefined } = {}): Promise<AuditPage> {
    const limit = page.limit ?? LIST_LIMIT.default;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT.max) {
      throw new AppError('validation_failed', undefined, { fields: [{ field: '/limit', message: `must be a whole number from 1 to ${LIST_LIMIT.max}` }] });
    }
    const entries = await this.#repo.list({ ...filter, beforeId: page.cursor === undefined ? undefined : cursorId(page.cursor) }, limit + 1);
    const more = entries.length > limit;
    if (more) entries.pop();
    return { entries, nextCursor: more ? Buffer.from(String(entries.at(-1)!.id)).toString('base64url') : undefined };
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

function cursorId(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new AppError('validation_failed', undefined, { fields: [{ field: '/cursor', message: 'is not a cursor this listing gave' }] });
  return Number(text);
}
