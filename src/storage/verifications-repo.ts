import { userIdFromUuid, userUuid } from '../kernel/ids.ts';
import type { CheckDetail, DocumentData, NormalisedImage, RejectionReason, VerificationImages } from '../kernel/evidence.ts';
import type { Queryable } from './db.ts';
import type { Sealer } from './sealer.ts';

export interface VerificationRecord {
  id: string;
  provider: string;
  providerRef: string | undefined;
  state: string;
  /** The last step a provider reported (started, submitted, liveness…); not a state. */
  step: string | undefined;
  clientId: string | undefined;
  userId: string | undefined;
  flowId: string | undefined;
  returnTo: string;
  reasons: RejectionReason[];
  /** Sealed at rest. */
  document: DocumentData | undefined;
  /** What a provider keeps between its own steps (sealed: it may be personal). */
  providerData: Record<string, unknown> | undefined;
  checks: CheckDetail[];
  providerTxn: string | undefined;
  version: number;
  verifiedAt: Date | undefined;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  /** When it reached its final state. */
  endedAt: Date | undefined;
  dataDeletedAt: Date | undefined;
}

export interface NewVerification {
  id: string;
  provider: string;
  state: string;
  clientId?: string | undefined;
  userId?: string | undefined;
  flowId?: string | undefined;
  returnTo: string;
  providerRef?: string | undefined;
  step?: string | undefined;
  expiresAt: Date;
}

export interface VerificationChanges {
  state?: string;
  step?: string | undefined;
  providerRef?: string;
  reasons?: RejectionReason[];
  document?: DocumentData | null;
  providerData?: Record<string, unknown> | null;
  checks?: CheckDetail[];
  providerTxn?: string | undefined;
  verifiedAt?: Date;
  endedAt?: Date;
}

export type ImageKind = 'document_front' | 'document_back' | 'face';

const IMAGE_KINDS: Record<ImageKind, keyof VerificationImages> = {
  document_front: 'documentFront',
  document_back: 'documentBack',
  face: 'face',
};

interface Row {
  id: string;
  provider: string;
  provider_ref: string | null;
  state: string;
  step: string | null;
  client_id: string | null;
  user_id: string | null;
  flow_id: string | null;
  return_to: string;
  reasons: string[];
  document_sealed: string | null;
  provider_data_sealed: string | null;
  checks: CheckDetail[];
  provider_txn: string | null;
  version: number;
  verified_at: Date | null;
  created_at: Date;
  updated_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  data_deleted_at: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Verifications and their images. Each sealed column has its own context bound to the row
 * (`verifications.document:<id>`…), so a sealed value copied to another row or column does
 * not open. A repository bound to a transaction (`on(tx)`) lets the engine change a
 * verification, its images, its events and the wallet all at once or not at all.
 */
export class VerificationsRepo {
  readonly #db: Queryable;
  readonly #sealer: Sealer;

  constructor(db: Queryable, sealer: Sealer) {
    this.#db = db;
    this.#sealer = sealer;
  }

  on(db: Queryable): VerificationsRepo {
    return new VerificationsRepo(db, this.#sealer);
  }

  async insert(v: NewVerification, now: Date): Promise<VerificationRecord> {
    const [row] = await this.#db.query<Row>(
      `insert into verifications (id, provider, provider_ref, step, state, client_id, user_id, flow_id, return_to, created_at, updated_at, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) returning *`,
      [v.id, v.provider, v.providerRef ?? null, v.step ?? null, v.state, v.clientId ?? null, v.userId ? userUuid(v.userId) : null, v.flowId ?? null, v.returnTo, now, v.expiresAt],
    );
    return this.#toRecord(row!);
  }

  async findById(id: string): Promise<VerificationRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const [row] = await this.#db.query<Row>('select * from verifications where id = $1', [id]);
    return row ? this.#toRecord(row) : undefined;
  }

  async findByProviderRef(provider: string, providerRef: string): Promise<VerificationRecord | undefined> {
    const [row] = await this.#db.query<Row>('select * from verifications where provider = $1 and provider_ref = $2', [provider, providerRef]);
    return row ? this.#toRecord(row) : undefined;
  }

  /**
   * Applies changes only if nobody changed the verification since it was read (optimistic
   * concurrency on `version`); undefined means someone else won.
   */
  async update(v: VerificationRecord, changes: VerificationChanges, now: Date): Promise<VerificationRecord | undefined> {
    const has = (key: keyof VerificationChanges) => Object.hasOwn(changes, key);
    const document = has('document') ? changes.document : v.document;
    const providerData = has('providerData') ? changes.providerData : v.providerData;
    const [row] = await this.#db.query<Row>(
      `update verifications set state = $3, step = $4, provider_ref = $5, reasons = $6, document_sealed = $7,
         provider_data_sealed = $8, checks = $9, provider_txn = $10, verified_at = $11, updated_at = $12, ended_at = $13, version = version + 1
       where id = $1 and version = $2 returning *`,
      [
        v.id,
        v.version,
        changes.state ?? v.state,
        (has('step') ? changes.step : v.step) ?? null,
        changes.providerRef ?? v.providerRef ?? null,
        changes.reasons ?? v.reasons,
        document ? this.#sealer.keyring.sealJson(document, `verifications.document:${v.id}`) : null,
        providerData ? this.#sealer.keyring.sealJson(providerData, `verifications.provider_data:${v.id}`) : null,
        JSON.stringify(changes.checks ?? v.checks),
        (has('providerTxn') ? changes.providerTxn : v.providerTxn) ?? null,
        changes.verifiedAt ?? v.verifiedAt ?? null,
        now,
        changes.endedAt ?? v.endedAt ?? null,
      ],
    );
    return row ? this.#toRecord(row) : undefined;
  }

  /** Stores (or replaces) the given images, each sealed in its own row. */
  async putImages(id: string, images: VerificationImages, now: Date): Promise<void> {
    for (const [kind, key] of Object.entries(IMAGE_KINDS) as [ImageKind, keyof VerificationImages][]) {
      const bytes = images[key];
      if (!bytes) continue;
      await this.#db.query(
        `insert into verification_images (verification_id, kind, image_sealed, created_at) values ($1, $2, $3, $4)
         on conflict (verification_id, kind) do update set image_sealed = excluded.image_sealed, created_at = excluded.created_at`,
        [id, kind, this.#sealer.keyring.seal(bytes, `verification_images.image:${id}:${kind}`), now],
      );
    }
  }

  /** The verification and its images, in one read. */
  async findWithImages(id: string): Promise<{ record: VerificationRecord; images: VerificationImages } | undefined> {
    if (!UUID.test(id)) return undefined;
    const rows = await this.#db.query<Row & { image_kind: ImageKind | null; image_sealed: string | null }>(
      `select v.*, i.kind as image_kind, i.image_sealed
       from verifications v left join verification_images i on i.verification_id = v.id
       where v.id = $1`,
      [id],
    );
    if (rows.length === 0) return undefined;
    const images: VerificationImages = {};
    for (const row of rows) {
      // Stored only as `normaliseImage` made them (VerificationImages allows nothing else).
      if (row.image_kind && row.image_sealed) {
        images[IMAGE_KINDS[row.image_kind]] = this.#sealer.keyring.openBuffer(row.image_sealed, `verification_images.image:${id}:${row.image_kind}`) as NormalisedImage;
      }
    }
    return { record: this.#toRecord(rows[0]!), images };
  }

  /** Deletes the verification's images; returns how many there were. */
  async deleteImages(id: string): Promise<number> {
    return (await this.#db.query('delete from verification_images where verification_id = $1 returning 1', [id])).length;
  }

  /**
   * Deletes the document read, the provider's step data and every image for good (rows
   * deleted, columns nulled); the verification keeps its state, ids, checks and times.
   */
  async deleteData(id: string, now: Date): Promise<boolean> {
    await this.#db.query('delete from verification_images where verification_id = $1', [id]);
    const rows = await this.#db.query(
      `update verifications set document_sealed = null, provider_data_sealed = null, data_deleted_at = coalesce(data_deleted_at, $2),
         updated_at = $2, version = version + 1
       where id = $1 returning 1`,
      [id, now],
    );
    return rows.length > 0;
  }

  /**
   * Finished verifications that still have images and ended at or before `endedBefore`.
   * Driven by the images table, which only holds what is still to be deleted.
   */
  async listWithImagesEndedBefore(endedBefore: Date, limit: number): Promise<VerificationRecord[]> {
    const rows = await this.#db.query<Row>(
      `select * from verifications where id in (select verification_id from verification_images) and ended_at <= $1 order by ended_at limit $2`,
      [endedBefore, limit],
    );
    return rows.map((r) => this.#toRecord(r));
  }

  /** Open verifications past their expiry, oldest first. */
  async listStale(now: Date, limit: number): Promise<VerificationRecord[]> {
    const rows = await this.#db.query<Row>(
      `select * from verifications where state in ('created', 'in_progress') and expires_at <= $1 order by expires_at limit $2`,
      [now, limit],
    );
    return rows.map((r) => this.#toRecord(r));
  }

  /**
   * Claims the right to ask the provider for a result now: true for one caller per
   * interval, whichever node it runs on, so a page refreshing every two seconds does not
   * turn into a poll every two seconds.
   */
  async claimPoll(id: string, now: Date, intervalMs: number): Promise<boolean> {
    const rows = await this.#db.query(
      `update verifications set polled_at = $2 where id = $1 and (polled_at is null or polled_at <= $3) returning 1`,
      [id, now, new Date(now.getTime() - intervalMs)],
    );
    return rows.length > 0;
  }

  #toRecord(row: Row): VerificationRecord {
    return {
      id: row.id,
      provider: row.provider,
      providerRef: row.provider_ref ?? undefined,
      state: row.state,
      step: row.step ?? undefined,
      clientId: row.client_id ?? undefined,
      userId: row.user_id ? userIdFromUuid(row.user_id) : undefined,
      flowId: row.flow_id ?? undefined,
      returnTo: row.return_to,
      reasons: row.reasons as RejectionReason[],
      document: row.document_sealed ? this.#sealer.keyring.openJson<DocumentData>(row.document_sealed, `verifications.document:${row.id}`) : undefined,
      providerData: row.provider_data_sealed
        ? this.#sealer.keyring.openJson<Record<string, unknown>>(row.provider_data_sealed, `verifications.provider_data:${row.id}`)
        : undefined,
      checks: row.checks,
      providerTxn: row.provider_txn ?? undefined,
      version: row.version,
      verifiedAt: row.verified_at ?? undefined,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      expiresAt: row.expires_at,
      endedAt: row.ended_at ?? undefined,
      dataDeletedAt: row.data_deleted_at ?? undefined,
    };
  }
}
