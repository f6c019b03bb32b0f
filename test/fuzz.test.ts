import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';
import { PASSWORD, passwordClient, user } from './support/fixtures.ts';
import { requestTo, type FuzzRequest, type JsonSchema, type Known, type Method, type Target } from './support/fuzz-requests.ts';
import { backends, startPlatform, type Backend, type TestPlatform } from './support/platform.ts';

/**
 * Thousands of generated requests, from a fixed seed, to every route in /openapi.json and
 * every hosted page and hidden route (OAuth endpoints, sign-in and consent, the 1-Click
 * wallet, Web KYC and the sandbox's steps), with and without credentials. Whatever is sent,
 * the answer is never a 5xx, shows no stack trace, file path or framework error code, is
 * in the content type of the surface the path belongs to, and nothing is logged as an error.
 *
 * FUZZ_SEED and FUZZ_RUNS change the seed and the number of requests; a failure prints the
 * seed, fast-check's replay path and the request.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS: Record<Backend, number> = { pglite: Number(process.env.FUZZ_RUNS ?? 4000), postgres: Math.round(Number(process.env.FUZZ_RUNS ?? 4000) * 0.6) };
const REDIRECT_URI = 'https://rp.example/cb';
const VERIFF = { apiKey: 'veriff-api-key-1', sharedSecret: 'veriff-shared-secret-1' };

const HTML = /^text\/html/;
const JSON_TYPE = /^application\/json/;

/** Each surface by its paths, with the content type of its errors and of its other answers. */
const SURFACES: readonly { name: string; path: RegExp; error: RegExp; ok: RegExp }[] = [
  // A method these endpoints do not take is answered as by any OAuth endpoint, in JSON.
  { name: 'oauth pages', path: /^\/oauth\/(authorize|logout)(\/|\?|$)/, error: /^(text\/html|application\/json)/, ok: HTML },
  { name: 'oauth', path: /^\/(oauth\/|\.well-known\/)/, error: JSON_TYPE, ok: /^application\/(json|jwk-set\+json)/ },
  { name: 'vault', path: /^\/reg\/auth(\/|\?|$)/, error: JSON_TYPE, ok: JSON_TYPE },
  { name: 'web kyc pages', path: /^\/(authorize|web-kyc)(\/|\?|$)/, error: HTML, ok: HTML },
  { name: 'web kyc api', path: /^\/v2\/web-kyc(\/|\?|$)/, error: JSON_TYPE, ok: JSON_TYPE },
  { name: '1-click wallet', path: /^\/1-click\/wallet(\/|\?|$)/, error: HTML, ok: HTML },
  { name: '1-click api', path: /^(\/v2)?\/1-click(\/|\?|$)/, error: JSON_TYPE, ok: JSON_TYPE },
  { name: 'pages', path: /^\/(interaction\/|account(\/|\?|$)|verification\/(sandbox\/|[^/?]+\/return\/?(\?|$)))/, error: HTML, ok: /^(text\/html|image\/png)/ },
  { name: 'native', path: /^/, error: /^application\/problem\+json/, ok: /^(application\/json|text\/plain)/ },
];

const STACK_FRAME = /^\s*at .+:\d+:\d+\)?$/m;
const FILE_PATH = /file:\/\/|node_modules|\/src\/[a-z-]+\/[a-z-]+\.ts/;
const FRAMEWORK_CODE = /FST_|ERR_[A-Z]/;

const str = (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', ...extra });
const fields = (...names: string[]): JsonSchema => ({ type: 'object', properties: Object.fromEntries(names.map((n) => [n, str()])) });

function cookiesOf(response: LightMyRequestResponse): string {
  return response.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}

function csrfOf(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  assert.ok(match, 'the page has a form token');
  return match[1]!;
}

for (const backend of await backends()) {
  describe(`Fuzz: every route and page answers bad input without a 5xx (${backend})`, () => {
    let platform: TestPlatform;
    const logLines: string[] = [];
    let known: Known;
    let targets: Target[];

    before(async () => {
      platform = await startPlatform(backend, {
        logLines,
        env: { IDFLOW_VERIFF_API_KEY: VERIFF.apiKey, IDFLOW_VERIFF_SHARED_SECRET: VERIFF.sharedSecret, IDFLOW_VERIFF_BASE_URL: 'http://127.0.0.1:9', IDFLOW_VERIFICATION_PROVIDER: 'sandbox' },
      });
      const app = platform.app;
      const { clients, apiKeys } = platform.services;

      // Callers of every kind: an OAuth client also enabled for Web KYC, a first-party app
      // with the password grant, a brand of each 1-Click integration, and a person.
      const webSecret = (await clients.save({ clientId: 'web', name: 'Web', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], scope: 'openid email phone offline_access kyc' })).secret!;
      await saveWebKycSettings(platform.services.repos.clients, 'web', { enabled: true, provider: 'sandbox' });
      await passwordClient(platform);
      const brandKeys: Record<string, string> = {};
      for (const integration of ['hosted', 'semi_hosted', 'non_hosted'] as const) {
        await clients.save({ clientId: integration, name: `Brand ${integration}`, oneClick: { integration, environment: 'sandbox', defaultRedirectUrl: 'https://brand.example/back' } });
        brandKeys[integration] = (await apiKeys.create(integration)).key;
      }
      await user(platform);
      // The operator's console: a client with the admin scope, and a subscription for it to manage.
      const consoleSecret = (await clients.save({ clientId: 'console', name: 'Console', grantTypes: ['client_credentials'], scope: 'idflow:admin' })).secret!;
      const { subscription } = await platform.services.webhooks.subscribe('web', { url: 'https://hooks.rp.example/in', eventTypes: ['client.changed'] });
      await platform.services.oauth.reloadIfChanged();

      // Live state to reach past the first checks: tokens, a sign-in in progress, a Web KYC
      // flow with its sandbox verification, 1-Click requests, and their form tokens.
      const tokens = (await app.inject({ method: 'POST', url: '/reg/auth/token', payload: { grant_type: 'password', client_id: 'vault-app', username: 'ada@example.com', password: PASSWORD } })).json();
      const authorize = await app.inject({ method: 'GET', url: `/oauth/authorize?${new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', state: 's' })}` });
      const interactionPath = authorize.headers.location as string;
      const interactionCookie = cookiesOf(authorize);
      const loginPage = await app.inject({ method: 'GET', url: interactionPath, headers: { cookie: interactionCookie } });
      const kyc = await app.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'kyc', state: 's' })}` });
      const flowPath = kyc.headers.location as string;
      const flowCookie = cookiesOf(kyc);
      const flowCsrf = csrfOf((await app.inject({ method: 'GET', url: flowPath, headers: { cookie: flowCookie } })).body);
      const started = await app.inject({ method: 'POST', url: `${flowPath}/start`, headers: { cookie: flowCookie }, payload: { csrf: flowCsrf } });
      const verificationPath = started.headers.location as string;
      const verificationCsrf = csrfOf((await app.inject({ method: 'GET', url: `${verificationPath}/liveness` })).body);
      const oneClick: Record<string, string> = {};
      for (const [integration, key] of Object.entries(brandKeys)) {
        oneClick[integration] = (await app.inject({ method: 'POST', url: '/1-click', headers: { authorization: key }, payload: { phone: '+12025550100' } })).json().uuid;
      }
      const walletCsrf = csrfOf((await app.inject({ method: 'GET', url: `/1-click/wallet/${oneClick.hosted}` })).body);
      assert.ok(tokens.refresh_token && interactionPath.startsWith('/interaction/') && verificationPath.startsWith('/verification/sandbox/') && oneClick.hosted, 'the setup reached every state');

      known = {
        uid: [interactionPath.split('/')[2]!],
        flowId: [flowPath.split('/')[3]!],
        id: [verificationPath.split('/')[3]!, subscription.id, '1'],
        uuid: Object.values(oneClick),
        provider: ['veriff', 'sandbox'],
        name: ['selfie.png', 'document-front.png'],
        csrf: [csrfOf(loginPage.body), flowCsrf, verificationCsrf, walletCsrf],
        client_id: ['web', 'vault-app'],
        clientId: ['web'],
        client_secret: [webSecret],
        clientSecret: [webSecret],
        redirect_uri: [REDIRECT_URI],
        redirectUri: [REDIRECT_URI],
        response_type: ['code'],
        scope: ['openid', 'kyc', 'openid offline_access', 'accounts:read'],
        state: ['s'],
        username: ['ada@example.com'],
        password: [PASSWORD],
        refresh_token: [tokens.refresh_token],
        token: [tokens.access_token, tokens.refresh_token],
        phone: ['+12025550123', '+10123456789'],
        code: ['123456', '000000'],
        birthDate: ['1990-01-01', '1969-04-20'],
        ssn4: ['1234'],
        back_url: ['https://rp.example/back'],
        testImage: ['selfie', 'selfie-liveness-fail'],
        testImages: ['document-front', 'document-unreadable'],
        sample: ['passport'],
      };

      const cookies = { interaction: interactionCookie, flow: flowCookie };
      const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
      const clientToken = async (id: string, secret: string, scope: string) =>
        (await app.inject({ method: 'POST', url: '/oauth/token', headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString() })).json().access_token as string;
      const adminToken = await clientToken('console', consoleSecret, 'idflow:admin');
      const narrowToken = await clientToken('web', webSecret, 'kyc');
      assert.ok(adminToken && narrowToken, 'the console and the web client have client-credentials tokens');
      const credentials = {
        none: [{}],
        oauth: [{}, { authorization: basic('web', webSecret) }, { authorization: basic('web', 'wrong') }, { authorization: `Bearer ${tokens.access_token}` }, { authorization: `DPoP ${tokens.access_token}` }],
        pages: [{}, { cookie: cookies.interaction }, { cookie: cookies.flow }, { cookie: `${cookies.interaction}; ${cookies.flow}` }],
        oneClick: [{}, ...Object.values(brandKeys).map((key) => ({ authorization: key })), { authorization: `Bearer ${brandKeys.semi_hosted}` }, { authorization: 'not-a-key' }],
        webKycApi: [{}, { authorization: 'Bearer abc' }, { authorization: `Bearer ${tokens.access_token}` }],
        // Vault's app is public: it sends no client authentication.
        vault: [{}, {}, { authorization: basic('web', webSecret) }],
        admin: [{}, { authorization: `Bearer ${adminToken}` }, { authorization: `Bearer ${adminToken}` }, { authorization: `Bearer ${narrowToken}` }, { authorization: basic('console', consoleSecret) }, { authorization: `Bearer ${tokens.access_token}` }, { authorization: 'Bearer abc' }],
      };
      const credentialsFor = (path: string) =>
        path.startsWith('/admin/') ? credentials.admin : path.startsWith('/reg/') ? credentials.vault : path.startsWith('/oauth/') ? credentials.oauth : /^(\/v2)?\/1-click(?!\/wallet)/.test(path) ? credentials.oneClick : path.startsWith('/v2/web-kyc') ? credentials.webKycApi : credentials.pages;
      const signVeriff = (request: FuzzRequest): FuzzRequest => ({
        ...request,
        headers: { ...request.headers, 'x-auth-client': VERIFF.apiKey, 'x-hmac-signature': createHmac('sha256', VERIFF.sharedSecret).update(request.payload ?? '').digest('hex') },
      });

      // Every route of the API description, from its own schemas.
      const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, any>> };
      targets = [];
      for (const [path, operations] of Object.entries(openapi.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const parameters = (operation.parameters ?? []) as { in: string; name: string; schema: JsonSchema }[];
          const of = (where: string) => Object.fromEntries(parameters.filter((p) => p.in === where).map((p) => [p.name, p.schema]));
          const content = operation.requestBody?.content as Record<string, { schema: JsonSchema }> | undefined;
          targets.push({
            method: method.toUpperCase() as Method,
            path,
            params: of('path'),
            query: of('query'),
            ...(content ? { body: Object.values(content)[0]!.schema } : {}),
            credentials: credentialsFor(path),
            ...(path.startsWith('/verification/webhooks/') ? { sign: signVeriff } : {}),
          });
        }
      }
      assert.ok(targets.length >= 15, `openapi.json lists ${targets.length} operations`);

      // What the description hides: the OAuth engine's endpoints (from its discovery
      // document), the hosted pages and the development routes.
      const discovery = (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>;
      const endpoint = (name: string) => (typeof discovery[name] === 'string' ? new URL(discovery[name] as string).pathname : undefined);
      const authorizeFields = fields('client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'nonce', 'login_hint', 'ui_locales', 'prompt', 'max_age', 'code_challenge', 'code_challenge_method', 'claims', 'request', 'request_uri', 'response_mode', 'acr_values', 'id_token_hint', 'resource');
      const tokenFields: JsonSchema = {
        ...fields('code', 'redirect_uri', 'refresh_token', 'client_id', 'client_secret', 'scope', 'code_verifier', 'username', 'password', 'resource', 'client_assertion', 'client_assertion_type'),
        required: ['grant_type'],
      };
      tokenFields.properties!.grant_type = { enum: ['authorization_code', 'refresh_token', 'client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:device_code', 'implicit'] };
      const tokenInfo = fields('token', 'token_type_hint', 'client_id', 'client_secret');
      const logoutFields = fields('id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id', 'ui_locales', 'logout_hint', 'xsrf', 'logout');
      const hidden: [Method, string | undefined, { query?: JsonSchema; body?: JsonSchema; params?: Record<string, JsonSchema> }][] = [
        ['GET', '/.well-known/openid-configuration', {}],
        ['GET', endpoint('authorization_endpoint'), { query: authorizeFields }],
        ['POST', endpoint('authorization_endpoint'), { body: authorizeFields }],
        ['POST', endpoint('pushed_authorization_request_endpoint'), { body: { ...authorizeFields, properties: { ...authorizeFields.properties, client_secret: str() } } }],
        ['POST', endpoint('token_endpoint'), { body: tokenFields }],
        ['GET', endpoint('userinfo_endpoint'), {}],
        ['POST', endpoint('userinfo_endpoint'), { body: fields('access_token') }],
        ['GET', endpoint('jwks_uri'), {}],
        ['POST', endpoint('introspection_endpoint'), { body: tokenInfo }],
        ['POST', endpoint('revocation_endpoint'), { body: tokenInfo }],
        ['GET', endpoint('end_session_endpoint'), { query: logoutFields }],
        ['POST', endpoint('end_session_endpoint'), { body: logoutFields }],
        ['GET', '/interaction/{uid}', {}],
        ['POST', '/interaction/{uid}/login', { body: fields('csrf', 'username', 'password') }],
        ['POST', '/interaction/{uid}/consent', { body: fields('csrf') }],
        ['POST', '/interaction/{uid}/abort', { body: fields('csrf') }],
        ['GET', '/account', {}],
        ['POST', '/account/sign-in', { body: fields('csrf', 'username', 'password') }],
        ['GET', '/1-click/wallet/{uuid}', { query: fields('phone', 'code') }],
        ['POST', '/1-click/wallet/{uuid}/code', { body: fields('csrf', 'code') }],
        ['POST', '/1-click/wallet/{uuid}/input', { body: fields('csrf', 'birthDate', 'ssn4') }],
        ['POST', '/1-click/wallet/{uuid}/share', { body: fields('csrf', 'f.fullName.firstName', 'f.phone', 'f.address.0.line1', 'f.birthDate', 'f.constructor') }],
        ['POST', '/1-click/wallet/{uuid}/decline', { body: fields('csrf') }],
        ['GET', '/verification/{id}/return', {}],
        ['GET', '/verification/sandbox/{id}', {}],
        ...(['liveness', 'document', 'face-match'] as const).flatMap((step): typeof hidden => [
          ['GET', `/verification/sandbox/{id}/${step}`, {}],
          ['POST', `/verification/sandbox/{id}/${step}`, { body: fields('csrf', 'testImage', 'testImages', 'sample', 'mrz', 'surname', 'givenNames', 'documentNumber', 'dateOfBirth', 'dateOfExpiry', 'dateOfIssue', 'nationality', 'sex') }],
        ]),
        ['POST', '/verification/sandbox/{id}/cancel', { body: fields('csrf') }],
        ['GET', '/verification/sandbox/test-images/{name}', {}],
        ['GET', '/dev/sms-outbox', { query: fields('phone') }],
        ['GET', '/metrics', {}],
        ['GET', '/openapi.json', {}],
      ];
      for (const [method, path, shape] of hidden) {
        assert.ok(path, `discovery lists every endpoint the fuzz test sends to (${method})`);
        const params = Object.fromEntries([...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name!, str()]));
        targets.push({ method, path, params, query: shape.query?.properties ?? {}, ...(shape.body ? { body: shape.body } : {}), credentials: credentialsFor(path) });
      }
    });
    after(() => platform?.close());

    it(`${RUNS[backend]} generated requests (seed ${SEED}): no 5xx, no stack trace, no framework code, the surface's content type`, async () => {
      const statuses = new Map<string, number>();
      const arbitrary = fc.constantFrom(...targets).chain((target) => requestTo(target, known));
      await fc.assert(
        fc.asyncProperty(arbitrary, async (request) => {
          const mark = logLines.length;
          const response = await platform.app.inject(request);
          const path = request.url.split('?')[0]!;
          const surface = SURFACES.find((s) => s.path.test(request.url))!;
          statuses.set(`${surface.name} ${response.statusCode}`, (statuses.get(`${surface.name} ${response.statusCode}`) ?? 0) + 1);
          const what = () => `${request.method} ${request.url.slice(0, 300)}\n  headers ${JSON.stringify(request.headers).slice(0, 400)}\n  body ${JSON.stringify(request.payload ?? '').slice(0, 400)}\n  answer ${response.statusCode} ${response.headers['content-type']} ${response.body.slice(0, 400)}`;
          assert.ok(response.statusCode < 500, `a ${response.statusCode}:\n${what()}`);
          for (const [name, pattern] of [['a stack trace', STACK_FRAME], ['a file path', FILE_PATH], ['a framework error code', FRAMEWORK_CODE]] as const) {
            assert.doesNotMatch(response.body, pattern, `${name} in the body:\n${what()}`);
          }
          if (response.body.length && request.method !== 'HEAD' && response.statusCode !== 204 && (response.statusCode < 300 || response.statusCode >= 400)) {
            const type = String(response.headers['content-type'] ?? '');
            // The OAuth engine answers an error with its page to a caller that prefers HTML.
            const prefersHtml = surface.name === 'oauth' && request.headers.accept?.startsWith('text/html');
            const expected = response.statusCode >= 400 ? (prefersHtml ? /^(text\/html|application\/json)/ : surface.error) : surface.ok;
            assert.match(type, expected, `${surface.name} (${path}) answered ${type}, expected ${expected}:\n${what()}`);
          }
          const errors = logLines.slice(mark).filter((line) => /"level":(50|60)/.test(line));
          assert.deepEqual(errors, [], `logged as an error:\n${what()}`);
        }),
        { seed: SEED, numRuns: RUNS[backend] },
      );
      console.log(`fuzz (${backend}, seed ${SEED}): ${[...statuses].sort().map(([k, n]) => `${k}: ${n}`).join(', ')}`);
    });
  });
}
