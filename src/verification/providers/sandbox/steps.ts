import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../kernel/clock.ts';
import { checkDocument, type NormalisedImage, type VisualData } from '../../documents/index.ts';
import type { VerificationEngine, VerificationView } from '../../engine.ts';
import type { CheckDetail, DocumentData, RejectionReason } from '../../types.ts';
import { sandboxPath } from './provider.ts';
import { TIMEOUT_SURNAME } from './sample-documents.ts';
import type { TestImage } from './test-images.ts';

/** What the sandbox remembers between its steps (sealed with the verification). */
interface SandboxData {
  liveness?: { txn: string; time: string };
  /** Whether the face taken at the liveness step is the document holder's (a test image may say not). */
  faceMatches?: boolean;
  document?: DocumentData;
  documentChecks?: CheckDetail[];
}

export type StepName = 'liveness' | 'document' | 'face-match';

/** A photo as a step receives it: normalised at upload, and the test image it was, if it was one. */
export interface Photo {
  image: NormalisedImage;
  testImage: TestImage | undefined;
}

/** Where the person goes next: another step, or out (settled or waiting for a result). */
export type StepOutcome = { next: string };

const ORGANIZATION = 'idflow_sandbox';

/**
 * The sandbox's rules, step by step. Each step either records what it took (all of it,
 * in one transaction) or settles the verification with the reason it failed; pages only
 * parse and render.
 */
export class SandboxSteps {
  readonly #engine: VerificationEngine;
  readonly #clock: Clock;

  constructor(engine: VerificationEngine, clock: Clock) {
    this.#engine = engine;
    this.#clock = clock;
  }

  /** The step the person is at, from what has been recorded so far. */
  async currentStep(id: string): Promise<StepName> {
    const data = ((await this.#engine.providerData(id)) ?? {}) as SandboxData;
    if (!data.liveness) return 'liveness';
    if (!data.document) return 'document';
    return 'face-match';
  }

  /** Liveness: the face must be live (the "photo of a photo" test image is not). */
  async liveness(id: string, face: Photo): Promise<StepOutcome> {
    const known = face.testImage;
    if (known?.effect === 'liveness_failed') return this.#reject(id, 'liveness_failed');
    const now = this.#clock.now();
    await this.#engine.recordStep(id, {
      step: 'liveness',
      images: { face: face.image },
      providerData: { liveness: { txn: randomUUID(), time: now.toISOString() }, faceMatches: known?.effect !== 'face_mismatch' } satisfies SandboxData,
    });
    return { next: sandboxPath(id, 'document') };
  }

  /**
   * Document: both sides must be readable, and the MRZ and the visual data typed in (the
   * sandbox's stand-in for OCR) must pass idflow's real document checks.
   */
  async document(id: string, input: { front: Photo; back: Photo; mrz: string; visual: Partial<VisualData> }): Promise<StepOutcome> {
    if (input.front.testImage?.effect === 'document_unreadable' || input.back.testImage?.effect === 'document_unreadable') {
      return this.#reject(id, 'document_unreadable');
    }
    const checked = checkDocument({ mrz: input.mrz, visual: input.visual }, this.#clock, { allowSpecimens: true });
    if (!checked.ok) return this.#reject(id, ...checked.reasons);
    await this.#engine.recordStep(id, {
      step: 'document',
      images: { documentFront: input.front.image, documentBack: input.back.image },
      providerData: { document: checked.document, documentChecks: checked.checks } satisfies SandboxData,
    });
    return { next: sandboxPath(id, 'face-match') };
  }

  /** Face match: the face from the liveness step against the document's portrait. */
  async faceMatch(id: string): Promise<StepOutcome> {
    const data = ((await this.#engine.providerData(id)) ?? {}) as SandboxData;
    if (!data.liveness) return { next: sandboxPath(id, 'liveness') };
    if (!data.document) return { next: sandboxPath(id, 'document') };
    if (data.faceMatches === false) return this.#reject(id, 'face_mismatch');
    if (data.document.surname.toUpperCase() === TIMEOUT_SURNAME) {
      // Documented test input: the sandbox never answers, so the verification expires.
      await this.#engine.progress(id, 'submitted');
      return { next: this.#engine.returnPath(id) };
    }
    const now = this.#clock.now();
    const view = await this.#engine.settle(id, {
      outcome: 'verified',
      document: data.document,
      images: {},
      checks: [
        ...(data.documentChecks ?? []),
        { check_method: 'pvr', organization: ORGANIZATION, txn: data.liveness.txn, time: data.liveness.time },
        { check_method: 'bvr', organization: ORGANIZATION, txn: randomUUID(), time: now.toISOString() },
      ],
      providerTxn: id,
      verifiedAt: now,
    });
    return { next: view.returnTo };
  }

  async cancel(id: string): Promise<StepOutcome> {
    return this.#out(await this.#engine.cancel(id));
  }

  async #reject(id: string, ...reasons: RejectionReason[]): Promise<StepOutcome> {
    return this.#out(await this.#engine.settle(id, { outcome: 'rejected', reasons, providerTxn: id }));
  }

  #out(view: VerificationView): StepOutcome {
    return { next: view.returnTo };
  }
}
