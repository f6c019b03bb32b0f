import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formToken, formTokenValid } from '../kernel/form-tokens.ts';
import { pageSecurityHeaders } from '../ui/page-security.ts';
import type { Clock } from '../kernel/clock.ts';
import { AppError, isAppError } from '../kernel/errors.ts';
import { isStorableText } from '../kernel/text.ts';
import { normaliseImage, type ImageLimits, type ImageRefusal, type VisualData } from '../verification/documents/index.ts';
import type { VerificationEngine, VerificationView } from '../verification/engine.ts';
import { documentPage, faceMatchPage, livenessPage, type DocumentFormValues } from '../ui/pages/sandbox-verification.ts';
import { sandboxPath } from '../verification/providers/sandbox/provider.ts';
import { sampleDocuments } from '../verification/providers/sandbox/sample-documents.ts';
import { SandboxSteps, type Photo, type StepName } from '../verification/providers/sandbox/steps.ts';
import { isTestImageName, recogniseTestImage, TEST_IMAGES, testImage, type TestImageName } from '../verification/providers/sandbox/test-images.ts';

type WithId = FastifyRequest<{ Params: { id: string } }>;

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' } },
  required: ['id'],
};

/** A form that failed validation: the page is shown again with this message (nothing was stored). */
class FormProblem extends Error {
  readonly status: number;
  /** What the person typed, to show again. */
  readonly values: DocumentFormValues | undefined;
  constructor(message: string, status = 400, values?: DocumentFormValues) {
    super(message);
    this.status = status;
    this.values = values;
  }
}

interface Upload {
  fields: Record<string, string>;
  files: Record<string, Buffer>;
}

const TEXT_FIELDS = new Set(['csrf', 'testImage', 'testImages', 'sample', 'mrz', 'surname', 'givenNames', 'documentNumber', 'dateOfBirth', 'dateOfExpiry', 'dateOfIssue', 'nationality', 'sex']);

/**
 * Reads a multipart form into memory within the limits: at most three files of at most
 * `maxImageBytes` each, short text fields only. Nothing is kept when anything is wrong.
 */
async function readUpload(request: FastifyRequest, maxImageBytes: number, fileNames: readonly string[]): Promise<Upload> {
  if (!request.isMultipart()) throw new FormProblem('Send the form as it is on the page.', 415);
  const upload: Upload = { fields: {}, files: {} };
  try {
    for await (const part of request.parts({ limits: { fileSize: maxImageBytes, files: 3, fields: 20, fieldSize: 1024, parts: 24, headerPairs: 50 } })) {
      if (part.type === 'file') {
        const bytes = await part.toBuffer();
        // An empty file input still sends a part, with no name and no bytes.
        if (!fileNames.includes(part.fieldname) || (bytes.length === 0 && !part.filename)) continue;
        upload.files[part.fieldname] = bytes;
      } else {
        if (!TEXT_FIELDS.has(part.fieldname)) continue;
        if (part.valueTruncated) throw new FormProblem('One of the fields is too long.');
        if (!isStorableText(String(part.value ?? ''))) throw new FormProblem('One of the fields holds a character that is not allowed.');
        upload.fields[part.fieldname] = String(part.value ?? '');
      }
    }
  } catch (error) {
    if (error instanceof FormProblem) throw error;
    const code = (error as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooManyBytes(maxImageBytes);
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') throw new FormProblem('The form has more in it than this page asks for.', 413);
    throw new FormProblem('The upload did not arrive whole; try again.');
  }
  return upload;
}

const tooManyBytes = (maxBytes: number) => new FormProblem(`Each photo may be at most ${Math.floor(maxBytes / (1024 * 1024)) || 1} MB.`, 413);

/** Why a photo was refused, as the person reads it on the page. */
function refusal(reason: ImageRefusal, what: string, limits: ImageLimits): FormProblem {
  if (reason === 'too_many_bytes') return tooManyBytes(limits.maxBytes);
  if (reason === 'too_many_pixels') {
    return new FormProblem(
      `The photo of ${what} is too large: at most ${limits.maxSide} pixels wide or high, and ${Math.floor(limits.maxPixels / 1_000_000)} megapixels. Take it again at a lower resolution.`,
      422,
    );
  }
  return new FormProblem(`The photo of ${what} is not a JPEG or PNG image.`, 422);
}

function testChoice(value: string | undefined, allowed: readonly TestImageName[]): TestImageName | undefined {
  return value && isTestImageName(value) && allowed.includes(value) ? value : undefined;
}

const VISUAL_FIELDS = ['surname', 'givenNames', 'documentNumber', 'dateOfBirth', 'dateOfExpiry'] as const;

/**
 * The sandbox's hosted steps under /verification/sandbox/{id}/…: plain HTML forms with a
 * CSRF token bound to the verification, multipart uploads limited in size and checked by
 * content, and the rules in SandboxSteps.
 */
export async function registerSandboxRoutes(
  app: FastifyInstance,
  deps: {
    engine: VerificationEngine;
    clock: Clock;
    formKey: Buffer;
    imageLimits: ImageLimits;
    /** Where the verification's client may receive the person: the last step's form ends there, through returnTo. */
    formDestinations: (view: VerificationView) => Promise<string[]>;
  },
): Promise<void> {
  const { engine, clock, formKey, imageLimits, formDestinations } = deps;
  const maxImageBytes = imageLimits.maxBytes;
  const steps = new SandboxSteps(engine, clock);
  const csrf = (id: string) => formToken(formKey, `verification:${id}`);

  // The test images go through the same normalisation as any upload, once per process.
  const normalisedTestImages = new Map<TestImageName, Promise<Photo>>();
  const testPhoto = (name: TestImageName) => {
    let photo = normalisedTestImages.get(name);
    if (!photo) {
      photo = normaliseImage(testImage(name), imageLimits).then((n) => {
        if (!n.ok) throw new Error(`test image ${name} is refused: ${n.reason}`);
        return { image: n.image, testImage: TEST_IMAGES.find((i) => i.name === name) };
      });
      normalisedTestImages.set(name, photo);
    }
    return photo;
  };

  /**
   * The photo for one file input, checked and normalised now, at upload, and never again:
   * a real JPEG or PNG by its bytes (never its name or declared type) within the image
   * limits, or a test image chosen on the page. A sandbox test image is recognised by its
   * bytes as uploaded.
   */
  const pickImage = async (upload: Upload, fileField: string, testName: TestImageName | undefined, what: string): Promise<Photo> => {
    const uploaded = upload.files[fileField];
    if (uploaded) {
      const normalised = await normaliseImage(uploaded, imageLimits);
      if (!normalised.ok) throw refusal(normalised.reason, what, imageLimits);
      return { image: normalised.image, testImage: recogniseTestImage(uploaded) };
    }
    if (testName) return testPhoto(testName);
    throw new FormProblem(`Add a photo of ${what}, or pick a test image.`);
  };

  /** A step's page, whose forms may end at the verification's client. */
  const send = async (reply: FastifyReply, status: number, body: string, view: VerificationView) =>
    reply
      .code(status)
      .headers(pageSecurityHeaders(await formDestinations(view)))
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(body);

  /** The verification when the person may still act on it; otherwise where to send them. */
  const open = async (id: string): Promise<{ view: VerificationView } | { leave: string }> => {
    const view = await engine.refresh(id);
    if (!view || view.provider !== 'sandbox') throw new AppError('not_found', 'No such verification');
    if (view.state !== 'created' && view.state !== 'in_progress') return { leave: view.returnTo };
    return { view };
  };

  const render = (step: StepName, id: string, extra: { error?: string; values?: DocumentFormValues } = {}) => {
    if (step === 'liveness') return livenessPage({ id, csrf: csrf(id), error: extra.error });
    if (step === 'document') return documentPage({ id, csrf: csrf(id), samples: sampleDocuments(clock), error: extra.error, values: extra.values });
    return faceMatchPage({ id, csrf: csrf(id) });
  };

  /** One POST step: check the verification and the form token, run the step, redirect; a bad form shows the page again. */
  const post = (step: StepName | 'cancel', handle: (id: string, request: FastifyRequest) => Promise<{ next: string }>) =>
    async (request: WithId, reply: FastifyReply) => {
      const { id } = request.params;
      const state = await open(id);
      if ('leave' in state) return reply.redirect(state.leave, 303);
      try {
        const result = await handle(id, request);
        return reply.redirect(result.next, 303);
      } catch (error) {
        if (error instanceof FormProblem && step !== 'cancel') {
          return send(reply, error.status, render(step, id, { error: error.message, values: error.values }), state.view);
        }
        // Someone else finished or expired the verification meanwhile: follow it.
        if (isAppError(error) && (error.code === 'invalid_transition' || error.code === 'flow_expired')) {
          return reply.redirect((await engine.get(id))?.returnTo ?? '/', 303);
        }
        throw error;
      }
    };

  await app.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: maxImageBytes, files: 3 } });

    scope.get('/verification/sandbox/test-images/:name', {
      schema: { hide: true, params: { type: 'object', properties: { name: { type: 'string', pattern: '^[a-z-]{1,40}\\.png$' } }, required: ['name'] } },
    }, async (request: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const name = request.params.name.replace(/\.png$/, '');
      if (!isTestImageName(name)) throw new AppError('not_found');
      return reply.header('cache-control', 'public, max-age=86400').type('image/png').send(testImage(name));
    });

    scope.get('/verification/sandbox/:id', { schema: { hide: true, params: idParams } }, async (request: WithId, reply) => {
      const state = await open(request.params.id);
      if ('leave' in state) return reply.redirect(state.leave, 303);
      return reply.redirect(sandboxPath(request.params.id, await steps.currentStep(request.params.id)), 303);
    });

    for (const step of ['liveness', 'document', 'face-match'] as const) {
      scope.get(`/verification/sandbox/:id/${step}`, { schema: { hide: true, params: idParams } }, async (request: WithId, reply) => {
        const { id } = request.params;
        const state = await open(id);
        if ('leave' in state) return reply.redirect(state.leave, 303);
        // Steps go in order: one that is not reached yet sends the person to the one they are at.
        const current = await steps.currentStep(id);
        const order = ['liveness', 'document', 'face-match'];
        if (order.indexOf(step) > order.indexOf(current)) return reply.redirect(sandboxPath(id, current), 303);
        return send(reply, 200, render(step, id), state.view);
      });
    }

    scope.post('/verification/sandbox/:id/liveness', { schema: { hide: true, params: idParams } }, post('liveness', async (id, request) => {
      const upload = await readUpload(request, maxImageBytes, ['face']);
      if (!formTokenValid(formKey, `verification:${id}`, upload.fields.csrf)) throw new FormProblem('This page has expired; try again.', 403);
      const face = await pickImage(upload, 'face', testChoice(upload.fields.testImage, ['selfie', 'selfie-liveness-fail', 'selfie-someone-else']), 'your face');
      return steps.liveness(id, face);
    }));

    scope.post('/verification/sandbox/:id/document', { schema: { hide: true, params: idParams } }, post('document', async (id, request) => {
      const upload = await readUpload(request, maxImageBytes, ['front', 'back']);
      const values: DocumentFormValues = Object.fromEntries(Object.entries(upload.fields).filter(([k]) => k !== 'csrf'));
      const fail = (message: string, status?: number): never => {
        throw new FormProblem(message, status, values);
      };
      if (!formTokenValid(formKey, `verification:${id}`, upload.fields.csrf)) fail('This page has expired; try again.', 403);
      const testSides = testChoice(upload.fields.testImages, ['document-front', 'document-unreadable']);
      let front: Photo, back: Photo;
      try {
        front = await pickImage(upload, 'front', testSides, 'the front of the document');
        back = await pickImage(upload, 'back', testSides === 'document-front' ? 'document-back' : testSides, 'the back of the document');
      } catch (error) {
        return fail((error as FormProblem).message, (error as FormProblem).status);
      }
      let mrz = (upload.fields.mrz ?? '').trim();
      let visual: Partial<VisualData> = {};
      const sample = sampleDocuments(clock).find((s) => s.name === upload.fields.sample);
      if (!mrz && sample) {
        mrz = sample.mrz.join('\n');
        visual = sample.visual;
      } else {
        if (!mrz) fail('Type the machine-readable zone, or pick a test passport.');
        const missing = VISUAL_FIELDS.filter((f) => !(upload.fields[f] ?? '').trim());
        if (missing.length) fail('Type the surname, given names, document number and both dates as the document shows them.');
        for (const key of [...VISUAL_FIELDS, 'dateOfIssue', 'nationality', 'sex'] as const) {
          const value = (upload.fields[key] ?? '').trim();
          if (value) (visual as Record<string, string>)[key] = value;
        }
      }
      return steps.document(id, { front, back, mrz, visual });
    }));

    scope.post('/verification/sandbox/:id/face-match', { schema: { hide: true, params: idParams } }, post('face-match', async (id, request) => {
      if (!formTokenValid(formKey, `verification:${id}`, (request.body as Record<string, unknown> | undefined)?.csrf)) throw new FormProblem('This page has expired; try again.', 403);
      return steps.faceMatch(id);
    }));

    scope.post('/verification/sandbox/:id/cancel', { schema: { hide: true, params: idParams } }, post('cancel', async (id, request) => {
      if (!formTokenValid(formKey, `verification:${id}`, (request.body as Record<string, unknown> | undefined)?.csrf)) {
        return { next: sandboxPath(id) };
      }
      return steps.cancel(id);
    }));
  });
}
