import type { FastifyInstance, FastifyRequest } from 'fastify';
import { brandOf, registeredRedirectUrls } from '../../one-click/brand.ts';
import { AppError } from '../../kernel/errors.ts';
import type { CredentialRequest } from '../../one-click/credential-requests.ts';
import { OneClickError } from '../../one-click/errors.ts';
import type { StartResult } from '../../one-click/operator-api.ts';
import type { OneClickCaller } from '../../one-click/requests.ts';
import { withBirthDateFormat } from '../../one-click/birth-date.ts';
import type { OneClickEntity } from '../../one-click/entity.ts';
import type { Services } from '../../services.ts';
import { sendClientSideBlocked, sendVerifiedError } from './errors.ts';
import { errorResponses, getQuery, oneClickEntity, patchBody, postBody, postResponse, uuidParams } from './schemas.ts';

interface PostBody {
  phone?: string | null;
  email?: string | null;
  birthDate?: string | null;
  ssn4?: string | null;
  credentialRequests?: CredentialRequest[];
  content?: { title?: 'Signup' | 'Login' | 'Verify' | 'Apply'; description?: string };
  redirectUrl?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    oneClickCaller: OneClickCaller | null;
  }
}

/**
 * Verified's 1-Click API (v2.0): `POST /1-click`, `GET /1-click/{uuid}`, `PATCH
 * /1-click/{uuid}`, also under `/v2` so a base URL ending in /v2 only changes host. A thin
 * door: it authenticates the brand by API key, hands the request to the 1-Click core and
 * renders the core's answer (or reason) in Verified's shapes.
 */
export function registerVerifiedOneClick(app: FastifyInstance, services: Services): void {
  app.register(async (scope) => {
    scope.decorateRequest('oneClickCaller', null);
    scope.setErrorHandler(sendVerifiedError);
    // Before the body is even read: a browser is refused, then the key is checked. Answers
    // carry personal data (and errors say whether a phone is known): no cache keeps any.
    scope.addHook('onRequest', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      if (request.headers.origin !== undefined) return sendClientSideBlocked(reply, request);
      request.oneClickCaller = await authenticate(services, request);
    });

    for (const base of ['/1-click', '/v2/1-click']) {
      const tags = ['verified-1click'];
      scope.post<{ Body: PostBody }>(
        base,
        {
          schema: {
            tags,
            summary: 'Begin a 1-Click Signup flow (Verified-compatible)',
            description: 'Answers by the brand\'s integration type: Hosted {uuid,url,code}; Semi-Hosted {uuid,code}; Non-Hosted {uuid,identity}.',
            body: postBody,
            response: { 201: postResponse, ...errorResponses },
          },
        },
        async (request, reply) => {
          const result = await services.oneClick.start(caller(request), request.body ?? {});
          return reply.code(201).send(postShape(result, caller(request)));
        },
      );
      scope.get<{ Params: { uuid: string }; Querystring: { code?: string } }>(
        `${base}/:uuid`,
        {
          schema: {
            tags,
            summary: 'Get the data a person shared (Verified-compatible)',
            description: 'Semi-Hosted: pass the code the person typed as ?code= (single use). Hosted: call with identityUuid after the redirect.',
            params: uuidParams,
            querystring: getQuery,
            response: { 200: oneClickEntity, ...errorResponses },
          },
        },
        async (request) => {
          const code = request.query.code === undefined || request.query.code === '' ? undefined : request.query.code;
          return present(await services.oneClick.retrieve(caller(request), request.params.uuid, code), caller(request));
        },
      );
      scope.patch<{ Params: { uuid: string }; Body: { birthDate?: string | null; ssn4?: string | null } }>(
        `${base}/:uuid`,
        {
          schema: {
            tags,
            summary: 'Pass the additional information a Semi-Hosted request asked for (OCE011)',
            params: uuidParams,
            body: patchBody,
            response: { 200: oneClickEntity, ...errorResponses },
          },
        },
        async (request) => {
          const body = request.body ?? {};
          return present(
            await services.oneClick.provideInputs(caller(request), request.params.uuid, { birthDate: body.birthDate ?? undefined, ssn4: body.ssn4 ?? undefined }),
            caller(request),
          );
        },
      );
    }
  });
}

/**
 * The key is the whole Authorization value (as Verified documents) or `Bearer <key>`.
 * A missing or unknown key is a Feathers NotAuthenticated (401, data.errorCode ERR001).
 */
async function authenticate(services: Services, request: FastifyRequest): Promise<OneClickCaller> {
  const header = request.headers.authorization?.trim();
  const key = header && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '') : header;
  const owner = key ? await services.apiKeys.authenticate(key) : undefined;
  if (!owner) throw new AppError('unauthenticated', 'Invalid or missing API key');
  const brand = brandOf(owner.client.metadata);
  if (!brand) throw new OneClickError('not_configured');
  return { clientId: owner.client.clientId, name: owner.client.name, brand, redirectUrls: registeredRedirectUrls(owner.client.metadata) };
}

function caller(request: FastifyRequest): OneClickCaller {
  return request.oneClickCaller!;
}

function postShape(result: StartResult, caller: OneClickCaller) {
  switch (result.integration) {
    case 'hosted':
      return { uuid: result.uuid, url: result.url, code: result.code };
    case 'semi_hosted':
      return { uuid: result.uuid, code: result.code };
    case 'non_hosted':
      return { uuid: result.uuid, identity: present(result.identity, caller) };
  }
}

/** The entity as this brand reads it: birth dates in its format (stored as YYYY-MM-DD). */
function present(entity: OneClickEntity, caller: OneClickCaller): OneClickEntity {
  return withBirthDateFormat(entity, caller.brand.birth_date_format ?? 'iso');
}

