import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodePng } from '../../src/verification/providers/sandbox/test-images.ts';

/**
 * A local Veriff that follows its published Public API v1 (devdocs.veriff.com), for tests:
 *
 * - `POST /v1/sessions` with `X-AUTH-CLIENT` → 201 `{status:"success", verification:{id,
 *   url, vendorData, host, status:"created", sessionToken}}`; a wrong key → 401;
 * - the session `url` serves a minimal "verification" page where a person (or a test)
 *   approves or declines; Veriff then POSTs the decision webhook (raw JSON body, headers
 *   `X-AUTH-CLIENT` and `X-HMAC-SIGNATURE` = hex HMAC-SHA256 of the body with the shared
 *   secret) to the integration's webhook URL, and redirects the person to `callback`;
 *   opening the page sends the `started` event webhook first;
 * - `GET /v1/sessions/{id}/decision`, `GET /v1/sessions/{id}/media` and
 *   `GET /v1/media/{id}`, each checking `X-HMAC-SIGNATURE` over the id in the path and
 *   signing its answer.
 */

export type FakeDecision = 'approved' | 'declined' | 'resubmission_requested' | 'expired' | 'abandoned' | 'review';

const CODES: Record<FakeDecision, number> = { approved: 9001, declined: 9102, resubmission_requested: 9103, expired: 9104, abandoned: 9121, review: 9161 };

export interface FakePerson {
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  gender: string | null;
  nationality: string | null;
}

export interface FakeDocument {
  number: string;
  type: string;
  country: string;
  validFrom: string | null;
  validUntil: string | null;
}

export interface FakeSession {
  id: string;
  sessionToken: string;
  url: string;
  callback: string | undefined;
  vendorData: string | undefined;
  decision: Record<string, unknown> | undefined;
}

export interface FakeVeriff {
  baseUrl: string;
  apiKey: string;
  sharedSecret: string;
  /** The integration's "Webhook decisions URL" (set in Veriff's Customer Portal). */
  webhookUrl: string | undefined;
  sessions: Map<string, FakeSession>;
  /** What the next approval says about the person and the document. */
  person: FakePerson;
  document: FakeDocument;
  /** Every webhook sent and the status idflow answered. */
  deliveries: { body: string; status: number }[];
  /** Every call idflow made to this Veriff, as `METHOD /path`. */
  requests: string[];
  /**
   * Media of a kind served instead as this many bytes, streamed without a length (an answer
   * too large to keep); `served` counts what the reader actually took of each one.
   */
  oversizedMedia: Partial<Record<MediaContext, number>>;
  served: { context: MediaContext; bytes: number }[];
  /** Decides a session as the page's buttons do: records it and sends the decision webhook. */
  decide(sessionId: string, decision: FakeDecision, options?: { reasonCode?: number; reason?: string; send?: boolean }): Promise<number | undefined>;
  /** Sends a body to the webhook URL signed with `secret` (the shared secret unless told otherwise). */
  sendWebhook(body: string, secret?: string): Promise<number>;
  sign(payload: string | Buffer, secret?: string): string;
  close(): Promise<void>;
}

function read(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

const MEDIA = {
  'document-front': await encodePng(90, 60, (x, y) => (x < 30 && y > 10 && y < 50 ? [220, 180, 150] : [170, 190, 220])),
  'document-back': await encodePng(90, 60, (x, y) => (y > 20 && y < 30 ? [60, 60, 80] : [190, 200, 230])),
  face: await encodePng(60, 60, (x, y) => ((x - 30) ** 2 + (y - 30) ** 2 < 400 ? [225, 185, 150] : [210, 225, 245])),
} as const;

export type MediaContext = keyof typeof MEDIA;

export async function startFakeVeriff(options: { apiKey?: string; sharedSecret?: string; webhookUrl?: string } = {}): Promise<FakeVeriff> {
  const apiKey = options.apiKey ?? randomUUID();
  const sharedSecret = options.sharedSecret ?? randomUUID();
  const sessions = new Map<string, FakeSession>();
  const mediaIds = new Map<string, { sessionId: string; context: MediaContext }>();

  const sign = (payload: string | Buffer, secret = sharedSecret) => createHmac('sha256', secret).update(payload).digest('hex');
  const signedBy = (value: string | undefined, payload: string) => {
    if (!value) return false;
    const expected = Buffer.from(sign(payload));
    const given = Buffer.from(value.toLowerCase());
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const json = (response: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'x-auth-client': apiKey, 'x-hmac-signature': sign(text) });
    response.end(text);
  };
  const fail = (response: ServerResponse, status: number, code: number, message: string) => json(response, status, { status: 'fail', code, message });

  const fake: FakeVeriff = {
    baseUrl: '',
    apiKey,
    sharedSecret,
    webhookUrl: options.webhookUrl,
    sessions,
    person: { firstName: 'Mari', lastName: 'Maasikas', dateOfBirth: '1988-03-07', gender: 'F', nationality: 'EE' },
    document: { number: 'KE0123456', type: 'PASSPORT', country: 'EE', validFrom: '2020-05-04', validUntil: '2030-05-03' },
    deliveries: [],
    requests: [],
    oversizedMedia: {},
    served: [],
    sign,
    async sendWebhook(body, secret) {
      if (!fake.webhookUrl) throw new Error('fake Veriff: no webhook URL configured');
      const response = await fetch(fake.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-client': apiKey, 'x-hmac-signature': sign(body, secret) },
        body,
      });
      await response.arrayBuffer();
      fake.deliveries.push({ body, status: response.status });
      return response.status;
    },
    async decide(sessionId, decision, opts = {}) {
      const session = sessions.get(sessionId);
      if (!session) throw new Error(`fake Veriff: no session ${sessionId}`);
      const now = new Date().toISOString();
      const approved = decision === 'approved';
      session.decision = {
        id: session.id,
        attemptId: randomUUID(),
        vendorData: session.vendorData ?? null,
        endUserId: null,
        status: decision,
        code: CODES[decision],
        reason: opts.reason ?? (decision === 'declined' ? 'Person showing the document does not appear to match document photo' : null),
        reasonCode: opts.reasonCode ?? (decision === 'declined' ? 103 : null),
        acceptanceTime: now,
        decisionTime: now,
        person: approved ? { ...fake.person, idNumber: null, placeOfBirth: null } : { firstName: null, lastName: null, dateOfBirth: null, gender: null, nationality: null, idNumber: null },
        document: approved ? { ...fake.document, state: null } : { number: null, type: null, country: null, validFrom: null, validUntil: null },
        riskLabels: [],
        additionalVerifiedData: {},
        comments: [],
      };
      if (opts.send === false) return undefined;
      return fake.sendWebhook(JSON.stringify({ status: 'success', verification: session.decision, technicalData: { ip: '127.0.0.1' } }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const server = createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', fake.baseUrl);
      const body = await read(request);
      fake.requests.push(`${request.method} ${url.pathname}`);
      const client = request.headers['x-auth-client'];
      const signature = request.headers['x-hmac-signature'] as string | undefined;
      let match: RegExpExecArray | null;

      if (request.method === 'POST' && url.pathname.replace(/\/$/, '') === '/v1/sessions') {
        if (client !== apiKey) return fail(response, 401, 1801, 'Mandatory X-AUTH-CLIENT header containing the API key is missing from the request.');
        let parsed: { verification?: { callback?: string; vendorData?: string } };
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          return fail(response, 400, 1102, 'Mandatory parameters are missing from the request.');
        }
        if (!parsed.verification || typeof parsed.verification !== 'object') return fail(response, 400, 1102, 'Mandatory parameters are missing from the request.');
        const id = randomUUID();
        const sessionToken = randomBytes(24).toString('base64url');
        const session: FakeSession = { id, sessionToken, url: `${fake.baseUrl}/v/${sessionToken}`, callback: parsed.verification.callback, vendorData: parsed.verification.vendorData, decision: undefined };
        sessions.set(id, session);
        return json(response, 201, { status: 'success', verification: { id, url: session.url, vendorData: session.vendorData ?? null, host: fake.baseUrl, status: 'created', sessionToken } });
      }

      if ((match = /^\/v\/([A-Za-z0-9_-]+)$/.exec(url.pathname)) && request.method === 'GET') {
        const session = [...sessions.values()].find((s) => s.sessionToken === match![1]);
        if (!session) return fail(response, 404, 1404, 'Session not found');
        if (fake.webhookUrl) {
          await fake.sendWebhook(JSON.stringify({ id: session.id, attemptId: randomUUID(), feature: 'selfid', code: 7001, action: 'started', vendorData: session.vendorData ?? null, endUserId: null }));
        }
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Veriff (local fake)</title></head><body>
<h1>Verify your identity</h1><p>Local stand-in for Veriff's hosted flow.</p>
<form method="post" action="/v/${session.sessionToken}/decision"><button name="decision" value="approved">Approve</button>
<button name="decision" value="declined">Decline</button></form></body></html>`);
      }

      if ((match = /^\/v\/([A-Za-z0-9_-]+)\/decision$/.exec(url.pathname)) && request.method === 'POST') {
        const session = [...sessions.values()].find((s) => s.sessionToken === match![1]);
        if (!session) return fail(response, 404, 1404, 'Session not found');
        const decision = new URLSearchParams(body.toString('utf8')).get('decision') === 'approved' ? 'approved' : 'declined';
        await fake.decide(session.id, decision);
        response.writeHead(303, { location: session.callback ?? '/' });
        return response.end();
      }

      if ((match = /^\/v1\/sessions\/([0-9a-f-]{36})\/(decision|media)$/.exec(url.pathname)) && request.method === 'GET') {
        const [, id, what] = match;
        if (client !== apiKey || !signedBy(signature, id!)) return fail(response, 401, 1812, 'Signature does not match the SHA256 hash of query ID and shared secret key.');
        const session = sessions.get(id!);
        if (!session) return fail(response, 404, 1404, 'Session not found');
        if (what === 'decision') return json(response, 200, { status: 'success', verification: session.decision ?? null, technicalData: { ip: null } });
        const images = (Object.keys(MEDIA) as (keyof typeof MEDIA)[]).map((context) => {
          const mediaId = randomUUID();
          mediaIds.set(mediaId, { sessionId: session.id, context });
          return { id: mediaId, name: context, context, url: `${fake.baseUrl}/v1/media/${mediaId}`, size: MEDIA[context].length, mimetype: 'image/png', sessionId: session.id, timestamp: null };
        });
        return json(response, 200, { status: 'success', images, videos: [] });
      }

      if ((match = /^\/v1\/media\/([0-9a-f-]{36})$/.exec(url.pathname)) && request.method === 'GET') {
        if (client !== apiKey || !signedBy(signature, match[1]!)) return fail(response, 401, 1812, 'Signature does not match the SHA256 hash of query ID and shared secret key.');
        const media = mediaIds.get(match[1]!);
        if (!media) return fail(response, 404, 1404, 'Media not found');
        const oversized = fake.oversizedMedia[media.context];
        if (oversized !== undefined) {
          const served = { context: media.context, bytes: 0 };
          fake.served.push(served);
          response.writeHead(200, { 'content-type': 'image/png', 'x-auth-client': apiKey });
          const chunk = Buffer.alloc(64 * 1024);
          // Generated as the reader pulls (backpressure), so `served` is what it took.
          const stream = Readable.from((function* () {
            for (; served.bytes < oversized; served.bytes += chunk.length) yield chunk;
          })());
          return pipeline(stream, response).catch(() => undefined);
        }
        const bytes = MEDIA[media.context];
        response.writeHead(200, { 'content-type': 'image/png', 'x-auth-client': apiKey, 'x-hmac-signature': sign(bytes) });
        return response.end(bytes);
      }

      return fail(response, 404, 1404, 'Not found');
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String((error as Error).message));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
