import { createHmac } from 'node:crypto';
import type { Clock } from '../../../kernel/clock.ts';
import { AppError } from '../../../kernel/errors.ts';
import { constantTimeEqual } from '../../../kernel/secrets.ts';
import { normaliseImage, type ImageLimits } from '../../documents/index.ts';
import type { InboundRequest, ProviderEvent, StartInput, StartResult, VerificationImages, VerificationProvider, VerificationResult } from '../../types.ts';
import { mapDecision, type VeriffDecision } from './decision.ts';

/**
 * Veriff, from its published Public API v1 (devdocs.veriff.com):
 *
 * - Create session — `POST {baseUrl}/v1/sessions`, header `X-AUTH-CLIENT: <API key>`
 *   (the one call without `X-HMAC-SIGNATURE`), body `{verification:{callback, person?,
 *   vendorData}}` → `{status:"success", verification:{id, url, sessionToken, …}}`.
 *   `callback` is where Veriff sends the person back; `vendorData` (≤ 1,000 characters,
 *   non-semantic) is our verification id.
 *   https://devdocs.veriff.com/apidocs/v1sessions ·
 *   https://devdocs.veriff.com/docs/how-to-generate-sessions-manually
 * - Signatures — `X-HMAC-SIGNATURE` is the hex HMAC-SHA256, keyed with the integration's
 *   shared secret, of the raw body for POST/PATCH and of the resource id for GET/DELETE;
 *   Veriff signs its webhooks (raw body, with `X-AUTH-CLIENT`) and its responses the same way.
 *   https://devdocs.veriff.com/docs/hmac-authentication-and-endpoint-security ·
 *   https://devdocs.veriff.com/docs/general-faq
 * - Decision webhook — `{status, verification:{id, attemptId, status (approved | declined |
 *   resubmission_requested | review | expired | abandoned), code (9001, 9102, 9103, 9104,
 *   9121), reason, reasonCode, person:{firstName, lastName, dateOfBirth, gender,
 *   nationality…}, document:{number, type, country (ISO alpha-2), validFrom, validUntil},
 *   vendorData, decisionTime, acceptanceTime}}`.
 *   https://devdocs.veriff.com/docs/decision-webhook ·
 *   https://devdocs.veriff.com/docs/verification-session-decision-codes-table ·
 *   https://devdocs.veriff.com/docs/granular-reason-codes
 * - Event webhook — `{id, attemptId, feature, code (7001 started, 7002 submitted), action,
 *   vendorData}`, signed the same way. https://devdocs.veriff.com/docs/webhooks-guide
 * - Polling — `GET /v1/sessions/{id}/decision` (signature over the session id); its
 *   `verification` is null until there is a decision.
 *   https://devdocs.veriff.com/apidocs/v1sessionsiddecision-1
 * - Media — `GET /v1/sessions/{id}/media` (signed session id) lists `images[]{id, context
 *   (document-front, document-back, face…), mimetype}`; `GET /v1/media/{id}` (signed media
 *   id) returns the file. https://devdocs.veriff.com/apidocs/v1sessionsidmedia-2 ·
 *   https://devdocs.veriff.com/apidocs/v1mediaid-1
 */
export interface VeriffOptions {
  apiKey: string;
  sharedSecret: string;
  baseUrl: string;
  clock: Clock;
  /** Veriff's media is held to the same limits as an upload, and stored normalised the same way. */
  imageLimits: ImageLimits;
  timeoutMs?: number;
}

const MEDIA_CONTEXTS: Record<string, keyof VerificationImages> = {
  'document-front': 'documentFront',
  'document-back': 'documentBack',
  face: 'face',
};

export class VeriffProvider implements VerificationProvider {
  readonly name = 'veriff';
  readonly #options: VeriffOptions;
  readonly #baseUrl: string;

  constructor(options: VeriffOptions) {
    this.#options = options;
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  async start(input: StartInput): Promise<StartResult> {
    const person = input.person && (input.person.givenNames || input.person.surname)
      ? { person: { ...(input.person.givenNames ? { firstName: input.person.givenNames } : {}), ...(input.person.surname ? { lastName: input.person.surname } : {}) } }
      : {};
    const body = JSON.stringify({ verification: { callback: input.returnUrl, vendorData: input.verificationId, ...person } });
    const response = await this.#call('POST', '/v1/sessions', { body });
    const created = (await response.json().catch(() => undefined)) as { status?: string; verification?: { id?: string; url?: string } } | undefined;
    const id = created?.verification?.id;
    const url = created?.verification?.url;
    if (created?.status !== 'success' || !id || !url || !/^https?:\/\//.test(url)) {
      throw new AppError('unavailable', 'The verification provider did not start a session', { detail: `veriff: unexpected session response (${response.status})` });
    }
    return { kind: 'redirect', url, providerRef: id };
  }

  async parseWebhook(request: InboundRequest): Promise<ProviderEvent> {
    const signature = header(request.headers, 'x-hmac-signature') ?? header(request.headers, 'vrf-hmac-signature');
    const client = header(request.headers, 'x-auth-client') ?? header(request.headers, 'vrf-auth-client');
    // Both checks always run, so the time taken does not tell which one failed.
    const signed = typeof signature === 'string' && constantTimeEqual(signature.toLowerCase(), this.#sign(request.rawBody));
    const ours = typeof client === 'string' && constantTimeEqual(client, this.#options.apiKey);
    if (!signed || !ours) throw new AppError('unauthenticated', 'The webhook signature is not valid');
    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      throw new AppError('validation_failed', 'The webhook body is not JSON');
    }
    // Signed is not well-formed: `null`, a number or an array is no webhook of Veriff's.
    if (!isJsonObject(body)) throw new AppError('validation_failed', 'The webhook is neither a decision nor an event');
    // Event webhook: a step the person took.
    if (typeof body.action === 'string' && typeof body.id === 'string') {
      const progress = body.action === 'started' ? 'started' : body.action === 'submitted' ? 'submitted' : undefined;
      return { providerRef: body.id, ...(progress ? { progress } : {}) };
    }
    const decision = body as VeriffDecision;
    const sessionId = decision.verification?.id;
    if (typeof sessionId !== 'string') throw new AppError('validation_failed', 'The webhook is neither a decision nor an event');
    const mapped = mapDecision(decision, this.#options.clock);
    if (!mapped) return { providerRef: sessionId };
    if ('progress' in mapped) return { providerRef: sessionId, progress: mapped.progress };
    return { providerRef: sessionId, result: () => this.#withImages(sessionId, mapped.result) };
  }

  async fetchResult(providerRef: string): Promise<VerificationResult | undefined> {
    const response = await this.#call('GET', `/v1/sessions/${encodeURIComponent(providerRef)}/decision`, { signed: providerRef });
    const raw = Buffer.from(await response.arrayBuffer());
    this.#verifyResponse(response, raw);
    const decision = JSON.parse(raw.toString('utf8')) as VeriffDecision;
    if (!decision.verification) return undefined;
    const mapped = mapDecision(decision, this.#options.clock);
    return mapped && 'result' in mapped ? this.#withImages(providerRef, mapped.result) : undefined;
  }

  /** An approval is completed with the session's images, fetched from Veriff (the details need them). */
  async #withImages(sessionId: string, result: VerificationResult): Promise<VerificationResult> {
    return result.outcome === 'verified' ? { ...result, images: await this.#images(sessionId) } : result;
  }

  /** The session's document and face images, each normalised; one that is not a JPEG or PNG within the limits is left out. */
  async #images(sessionId: string): Promise<VerificationImages> {
    const listing = await this.#call('GET', `/v1/sessions/${encodeURIComponent(sessionId)}/media`, { signed: sessionId });
    const raw = Buffer.from(await listing.arrayBuffer());
    this.#verifyResponse(listing, raw);
    const { images = [] } = JSON.parse(raw.toString('utf8')) as { images?: { id?: string; context?: string; name?: string }[] };
    const out: VerificationImages = {};
    for (const image of images) {
      const key = MEDIA_CONTEXTS[image.context ?? image.name ?? ''];
      // The list is sorted best first: keep the first image of each kind.
      if (!key || out[key] || typeof image.id !== 'string') continue;
      const media = await this.#call('GET', `/v1/media/${encodeURIComponent(image.id)}`, { signed: image.id });
      const bytes = await readAtMost(media, this.#options.imageLimits.maxBytes);
      const normalised = bytes && (await normaliseImage(bytes, this.#options.imageLimits));
      if (normalised?.ok) out[key] = normalised.image;
    }
    return out;
  }

  #sign(payload: string | Buffer): string {
    return createHmac('sha256', this.#options.sharedSecret).update(payload).digest('hex');
  }

  /** Veriff signs what it answers; an answer that is not signed by our secret is not Veriff's. */
  #verifyResponse(response: Response, raw: Buffer): void {
    const signature = response.headers.get('x-hmac-signature') ?? response.headers.get('vrf-hmac-signature');
    if (!signature || !constantTimeEqual(signature.toLowerCase(), this.#sign(raw))) {
      throw new AppError('unavailable', 'The verification provider answered without a valid signature', { detail: 'veriff: response signature mismatch' });
    }
  }

  async #call(method: 'GET' | 'POST', path: string, options: { body?: string; signed?: string }): Promise<Response> {
    const headers: Record<string, string> = { 'x-auth-client': this.#options.apiKey, accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.signed !== undefined) headers['x-hmac-signature'] = this.#sign(options.signed);
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: options.body } : {}),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
        redirect: 'error',
      });
    } catch (error) {
      throw new AppError('unavailable', 'The verification provider could not be reached', { detail: `veriff: ${method} ${path.split('/').slice(0, 3).join('/')}: ${(error as Error).name}`, cause: error });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new AppError('unavailable', 'The verification provider refused the request', { detail: `veriff: ${method} ${path.split('/').slice(0, 3).join('/')} → ${response.status}` });
    }
    return response;
  }
}

function header(headers: InboundRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A response body, or undefined once it is larger than `max` bytes: what Veriff answers
 * is read no further than the largest image idflow would keep, so it cannot fill memory.
 */
async function readAtMost(response: Response, max: number): Promise<Buffer | undefined> {
  if (Number(response.headers.get('content-length')) > max) {
    await response.body?.cancel();
    return undefined;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    // Leaving the loop early cancels the stream, which closes the connection.
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > max) return undefined;
      chunks.push(chunk);
    }
  } catch (error) {
    throw new AppError('unavailable', 'The verification provider could not be reached', { detail: `veriff: reading media: ${(error as Error).name}`, cause: error });
  }
  return Buffer.concat(chunks);
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
