import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { flowCookie } from '../../ui/flow-cookie.ts';
import { AppError } from '../../kernel/errors.ts';
import { webKycOf } from '../../kyc/index.ts';
import type { ResumeOutcome } from '../../kyc/web-kyc.ts';
import { WEB_KYC_PAGES, webKycFlow } from '../../kyc/web-kyc-flow.ts';
import type { Services } from '../../services.ts';
import { authenteqDetailsJson } from './details.ts';
import { isMultipartLimit, sendWebKycApiError } from './errors.ts';
import { pageSecurityHeaders } from '../../ui/page-security.ts';
import { errorPage, finishedPage, handOffPage, introPage, sendWebKycPageError, waitingPage } from './pages.ts';
import { TAG, authorizeQuery, bearerHeaders, detailsResponse, errorResponse, htmlPage, tokenBody, tokenResponse, type TokenBody } from './schemas.ts';

const flowParams = {
  type: 'object',
  required: ['flowId'],
  properties: { flowId: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' } },
} as const;
const csrfBody = { type: 'object', properties: { csrf: { type: 'string', maxLength: 128 } } } as const;
const html200 = { content: { 'text/html': { schema: htmlPage } } };
const redirect303 = { description: 'Redirect (to the verification, or to the redirect_uri with code or error and state)', type: 'null' } as const;

type FlowRequest = FastifyRequest<{ Params: { flowId: string }; Body: { csrf?: string } }>;

/** Holds the secret of the browser a flow is bound to (the flow engine's binding); only that browser can continue it. */
const BROWSER_COOKIE = 'idflow_wkyc';

/**
 * Authenteq Web KYC, byte-compatible: `GET /authorize` (the person's browser), then
 * `POST /v2/web-kyc/token` and `GET /v2/web-kyc/details` (the operator's backend). The
 * pages under /web-kyc/flows/ are idflow's own: introduction, waiting, errors. Every rule
 * is the core's (src/kyc/web-kyc.ts); this file parses and renders shapes.
 */
export function registerAuthenteqWebKyc(app: FastifyInstance, services: Services): void {
  const webKyc = webKycOf(services);
  const browser = flowCookie({ name: BROWSER_COOKIE, pathOf: (flowId) => `${WEB_KYC_PAGES}/${flowId}`, issuer: services.config.issuer });
  /** What the browser brings: its cookie, and with a form the form's token. */
  const fromBrowser = (request: FlowRequest, form = false) => ({ browserSecret: browser.read(request), ...(form ? { csrf: request.body?.csrf } : {}) });

  const sendHtml = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);

  const answer = (reply: FastifyReply, outcome: ResumeOutcome | { kind: 'verification'; next: string }) => {
    switch (outcome.kind) {
      case 'unknown':
        return sendHtml(reply, 404, errorPage('unknown_flow'));
      case 'other_browser':
        return sendHtml(reply, 403, errorPage('other_browser'));
      case 'verification':
        // A vendor's pages are elsewhere: handed over by a page (see handOffPage); the sandbox's are here.
        return /^https?:\/\//.test(outcome.next) ? sendHtml(reply, 200, handOffPage(outcome.next)) : reply.redirect(outcome.next, 303);
      case 'redirect':
        return reply.header('cache-control', 'no-store').redirect(outcome.location, 303);
      case 'intro':
        // Cancel ends at the client's redirect_uri.
        reply.headers(pageSecurityHeaders([outcome.page.redirectUri]));
        return sendHtml(reply, 200, introPage(outcome.page, outcome.formToken));
      case 'waiting':
        // Stopping ends at the client's redirect_uri.
        reply.headers(pageSecurityHeaders([outcome.page.redirectUri]));
        return sendHtml(reply, 200, waitingPage(outcome.page, { since: outcome.since, now: services.clock.now(), csrf: outcome.formToken }));
      case 'finished':
        return sendHtml(reply, 200, finishedPage(outcome.page, outcome.verified));
    }
  };

  // The person's browser: pages, errors as pages (never JSON, never a redirect to an unchecked URI).
  app.register(async (scope) => {
    scope.setErrorHandler(sendWebKycPageError);

    scope.get(
      '/authorize',
      {
        // Repeated or odd parameters are the core's to judge (some are errors for the redirect URI).
        attachValidation: true,
        schema: {
          tags: [TAG],
          summary: 'Start a Web KYC verification (Authenteq-compatible authorization request)',
          description:
            'Checks the request as RFC 6749 §4.1.2.1 orders it: an unknown client_id or a redirect_uri not registered for it is shown to the person (400); every other error goes to redirect_uri as `error`, `error_description` and `state`. A good request opens the verification and redirects to its introduction page.',
          querystring: authorizeQuery,
          response: { 303: redirect303, 400: html200 },
        },
      },
      async (request, reply) => {
        const outcome = await webKyc.authorize(request.query as Record<string, unknown>);
        if (outcome.kind === 'fatal') return sendHtml(reply, 400, errorPage(outcome.reason));
        if (outcome.kind === 'redirect') return reply.header('cache-control', 'no-store').redirect(outcome.location, 303);
        const flowId = outcome.page.flowId;
        browser.keep(reply, flowId, outcome.browserSecret, webKycFlow.ttlSeconds);
        return reply.header('cache-control', 'no-store').redirect(`${WEB_KYC_PAGES}/${flowId}`, 303);
      },
    );

    scope.get(
      `${WEB_KYC_PAGES}/:flowId`,
      { schema: { tags: [TAG], summary: 'Web KYC introduction page (hosted)', params: flowParams, response: { 200: html200, 403: html200, 404: html200 } } },
      async (request: FlowRequest, reply) => answer(reply, await webKyc.resume(request.params.flowId, fromBrowser(request))),
    );

    scope.post(
      `${WEB_KYC_PAGES}/:flowId/start`,
      { schema: { tags: [TAG], summary: 'Start the verification steps (hosted form)', params: flowParams, body: csrfBody, response: { 200: html200, 303: redirect303, 403: html200, 404: html200 } } },
      async (request: FlowRequest, reply) => answer(reply, await webKyc.begin(request.params.flowId, request.ip, fromBrowser(request, true))),
    );

    scope.post(
      `${WEB_KYC_PAGES}/:flowId/cancel`,
      { schema: { tags: [TAG], summary: 'Decline the verification, or stop waiting for its result (hosted form)', params: flowParams, body: csrfBody, response: { 200: html200, 303: redirect303, 403: html200, 404: html200 } } },
      async (request: FlowRequest, reply) => answer(reply, await webKyc.cancel(request.params.flowId, fromBrowser(request, true))),
    );

    scope.get(
      `${WEB_KYC_PAGES}/:flowId/continue`,
      {
        schema: {
          tags: [TAG],
          summary: 'Back from the verification: redirect to the operator with a code or an error, or wait',
          params: flowParams,
          response: { 200: html200, 303: redirect303, 403: html200, 404: html200 },
        },
      },
      async (request: FlowRequest, reply) => answer(reply, await webKyc.resume(request.params.flowId, fromBrowser(request))),
    );
  });

  // The operator's backend: JSON in Web KYC's error shape.
  app.register(async (scope) => {
    // The seed's own example posts the token request with `curl -F` (multipart/form-data).
    await scope.register(multipart);
    scope.addHook('preValidation', async (request) => {
      if (request.isMultipart()) request.body = await multipartFields(request);
    });
    scope.setErrorHandler(sendWebKycApiError);

    scope.post<{ Body: TokenBody }>(
      '/v2/web-kyc/token',
      {
        schema: {
          tags: [TAG],
          summary: 'Exchange a code for a token (Authenteq-compatible)',
          description:
            'Form, multipart form or JSON. The code is single-use and lives 60 seconds; presenting it a second time is refused and revokes the token issued by the first exchange. The token lives 15 minutes and cannot be refreshed.',
          body: tokenBody,
          response: { 200: tokenResponse, 400: errorResponse, 401: errorResponse, 413: errorResponse, 415: errorResponse, 500: errorResponse },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const outcome = await webKyc.exchange({ clientId: body.clientId, clientSecret: body.clientSecret, code: body.code, redirectUri: body.redirectUri });
        if (outcome.ok) return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send({ token: outcome.token });
        switch (outcome.problem) {
          case 'invalid_client':
            throw new AppError('invalid_client', 'clientId or clientSecret is not valid');
          case 'redirect_uri_mismatch':
            throw new AppError('invalid_redirect_uri', 'redirectUri is not the one the code was issued for');
          case 'code_reused':
          case 'invalid_code':
            throw new AppError('invalid_code', 'The code is invalid, expired or was already used');
        }
      },
    );

    scope.get(
      '/v2/web-kyc/details',
      {
        schema: {
          tags: [TAG],
          summary: 'The verified document details and images (Authenteq-compatible)',
          description: 'Readable for 15 minutes after the token was issued; then the details and images are deleted.',
          headers: bearerHeaders,
          response: { 200: detailsResponse, 401: errorResponse, 500: errorResponse },
        },
      },
      async (request, reply) => {
        const token = bearer(request.headers.authorization);
        if (!token) throw new AppError('unauthenticated', 'Send the token as Authorization: Bearer <token>');
        const details = await webKyc.details(token);
        if (!details) throw new AppError('invalid_token', 'The token is invalid, expired or revoked');
        // The body is written as bytes (authenteqDetailsJson), not through the schema serializer:
        // two base64 images make it ~100 KB of long strings. It is the shape detailsResponse describes.
        return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json; charset=utf-8').send(authenteqDetailsJson(details));
      },
    );
  });
}

const MULTIPART_LIMITS = { files: 0, fields: 10, fieldSize: 4096, parts: 20 };

/**
 * The text fields of a multipart token request. Past the limits is the error renderer's to
 * name; any other failure to read it (no boundary, a body cut short, a field named
 * `__proto__`) is a malformed request.
 */
async function multipartFields(request: FastifyRequest): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  try {
    for await (const part of request.parts({ limits: MULTIPART_LIMITS })) {
      if (part.type === 'field') fields[part.fieldname] = String(part.value);
    }
  } catch (error) {
    if (isMultipartLimit(error)) throw error;
    throw new AppError('validation_failed', 'The multipart body is malformed', { cause: error });
  }
  return fields;
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header ?? '');
  return match?.[1];
}
