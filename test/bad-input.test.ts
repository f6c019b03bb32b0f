import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';
import { PASSWORD, passwordClient, user } from './support/fixtures.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * Bad input that once reached the database or a library unchecked and came back as a 5xx,
 * or came back in Fastify's shape instead of the surface's own: each case as an attacker
 * sends it, and the answer each surface documents. test/fuzz.test.ts looks for more.
 */

const REDIRECT_URI = 'https://rp.example/cb';
const VERIFF = { apiKey: 'veriff-api-key-1', sharedSecret: 'veriff-shared-secret-1' };

interface Answer {
  status: number;
  type: string;
  body: string;
  json: any;
}

/** What no answer may show: a server error, a stack frame, a file path, a framework code. */
function assertNoLeak(answer: Answer, what: string): void {
  assert.ok(answer.status < 500, `${what}: answered ${answer.status} ${answer.body.slice(0, 300)}`);
  for (const leak of [/\n\s+at /, /node_modules|file:\/\/|\/src\/[a-z-]+\//, /FST_|ERR_[A-Z_]+/]) {
    assert.doesNotMatch(answer.body, leak, `${what}: the body shows ${leak}`);
  }
}

for (const backend of await backends()) {
  describe(`Bad input is answered in each surface's own format, never with a 5xx (${backend})`, () => {
    let platform: TestPlatform;
    let webSecret: string;
    let oneClickKey: string;
    const logLines: string[] = [];

    const send = async (request: { method: 'GET' | 'POST' | 'PATCH'; url: string; headers?: Record<string, string>; payload?: string | Buffer }): Promise<Answer> => {
      const response = await platform.app.inject(request);
      const type = String(response.headers['content-type'] ?? '');
      const answer = { status: response.statusCode, type, body: response.body, json: type.includes('json') ? response.json() : undefined };
      assertNoLeak(answer, `${request.method} ${request.url}`);
      return answer;
    };
    const form = (url: string, body: string, headers: Record<string, string> = {}) =>
      send({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: body });
    const json = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      send({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
    const multipart = (url: string, contentType: string, body: string) => send({ method: 'POST', url, headers: { 'content-type': contentType }, payload: body });
    const webBasic = () => `Basic ${Buffer.from(`web:${webSecret}`).toString('base64')}`;
    /** Error lines logged since `from`: bad input is the caller's doing and never one. */
    const errorsLoggedSince = (from: number) => logLines.slice(from).filter((line) => JSON.parse(line).level >= 50);

    const assertOAuthError = (answer: Answer, status = 400) => {
      assert.equal(answer.status, status, answer.body);
      assert.match(answer.type, /^application\/json/);
      assert.equal(answer.json.error, 'invalid_request');
      assert.equal(typeof answer.json.error_description, 'string');
    };
    const assertPage = (answer: Answer, status = 400) => {
      assert.equal(answer.status, status, answer.body.slice(0, 300));
      assert.match(answer.type, /^text\/html/);
      assert.match(answer.body, /^<!doctype html>/);
    };
    const assertVault = (answer: Answer) => {
      assert.equal(answer.status, 400, answer.body);
      assert.deepEqual(Object.keys(answer.json).sort(), ['errors', 'message', 'status', 'traceId']);
      assert.equal(answer.json.status, 'BAD_REQUEST');
    };
    const assertWebKyc = (answer: Answer, errorCode = 'INVALID_REQUEST_PARAMETER', status = 400) => {
      assert.equal(answer.status, status, answer.body);
      assert.deepEqual(Object.keys(answer.json).sort(), ['errorCode', 'errorMessage']);
      assert.equal(answer.json.errorCode, errorCode);
    };
    const assertVerified = (answer: Answer, status: number, errorCode: string) => {
      assert.equal(answer.status, status, answer.body);
      assert.deepEqual(Object.keys(answer.json).sort(), ['className', 'code', 'data', 'message', 'name']);
      assert.equal(answer.json.code, status);
      assert.equal(answer.json.data.errorCode, errorCode);
    };
    const assertProblem = (answer: Answer, status: number, code: string) => {
      assert.equal(answer.status, status, answer.body);
      assert.match(answer.type, /^application\/problem\+json/);
      assert.equal(answer.json.code, code);
    };

    before(async () => {
      platform = await startPlatform(backend, {
        listen: true,
        logLines,
        env: { IDFLOW_VERIFF_API_KEY: VERIFF.apiKey, IDFLOW_VERIFF_SHARED_SECRET: VERIFF.sharedSecret, IDFLOW_VERIFF_BASE_URL: 'http://127.0.0.1:9' },
      });
      webSecret = (await platform.services.clients.save({ clientId: 'web', name: 'Web', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token'], scope: 'openid' })).secret!;
      await saveWebKycSettings(platform.services.repos.clients, 'web', { enabled: true, provider: 'sandbox' });
      await platform.services.clients.save({ clientId: 'brand', name: 'Brand', oneClick: { integration: 'non_hosted', environment: 'sandbox', defaultRedirectUrl: 'https://brand.example/back' } });
      oneClickKey = (await platform.services.apiKeys.create('brand')).key;
      await passwordClient(platform);
      await user(platform);
      await platform.services.oauth.reloadIfChanged();
    });
    after(() => platform.close());

    for (const param of ['state', 'nonce', 'login_hint', 'ui_locales', 'client_id']) {
      it(`/oauth/authorize: a NUL in ${param} is an invalid_request page`, async () => {
        const mark = logLines.length;
        const query = new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', state: 'st', [param]: `${param === 'client_id' ? 'web' : 'x'}\0` });
        const answer = await send({ method: 'GET', url: `/oauth/authorize?${query}` });
        assertPage(answer);
        assert.match(answer.body, /invalid_request/);
        assert.deepEqual(errorsLoggedSince(mark), []);
      });
    }

    for (const [endpoint, body] of [
      ['/oauth/token', 'grant_type=authorization_code&code=abc%00&redirect_uri=https%3A%2F%2Frp.example%2Fcb'],
      ['/oauth/token', 'grant_type=refresh_token&refresh_token=abc%00'],
      ['/oauth/introspect', 'token=abc%00'],
      ['/oauth/revoke', 'token=abc%00'],
    ] as const) {
      it(`${endpoint}: a NUL in ${body.split('=')[0] === 'grant_type' ? body.split('&')[1]!.split('=')[0] : 'token'} is invalid_request`, async () => {
        const mark = logLines.length;
        assertOAuthError(await form(endpoint, body, { authorization: webBasic() }));
        assert.deepEqual(errorsLoggedSince(mark), []);
      });
    }

    it('/oauth/token: a NUL in client_id is invalid_request', async () => {
      assertOAuthError(await form('/oauth/token', 'grant_type=client_credentials&client_id=web%00&client_secret=x'));
    });

    it('/oauth/token: a real client (oauth4webapi) refreshing with a NUL gets an OAuth error it can read', async () => {
      const as = await oauth.processDiscoveryResponse(new URL(platform.url), await oauth.discoveryRequest(new URL(platform.url), { [oauth.allowInsecureRequests]: true }));
      const response = await oauth.refreshTokenGrantRequest(as, { client_id: 'web' }, oauth.ClientSecretBasic(webSecret), 'abc\0', { [oauth.allowInsecureRequests]: true });
      await assert.rejects(oauth.processRefreshTokenResponse(as, { client_id: 'web' }, response), (error: unknown) => {
        assert.ok(error instanceof oauth.ResponseBodyError, String(error));
        assert.equal(error.status, 400);
        assert.equal(error.error, 'invalid_request');
        return true;
      });
    });

    it('/reg/auth/token: a NUL in client_id or refresh_token is a Vault 400', async () => {
      const mark = logLines.length;
      assertVault(await json('/reg/auth/token', { grant_type: 'password', client_id: 'vault-app\0', username: 'ada@example.com', password: PASSWORD }));
      assertVault(await json('/reg/auth/token', { grant_type: 'refresh_token', refresh_token: 'abc\0' }));
      assertVault(await form('/reg/auth/token', 'grant_type=refresh_token&refresh_token=abc%00'));
      assert.deepEqual(errorsLoggedSince(mark), []);
    });

    it('/authorize (Web KYC): a NUL in client_id is the bad-link page', async () => {
      const answer = await send({ method: 'GET', url: `/authorize?response_type=code&client_id=web%00&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&state=s` });
      assertPage(answer);
      assert.match(answer.body, /invalid_request/);
    });

    it('/v2/web-kyc/token: a NUL in clientId is INVALID_REQUEST_PARAMETER', async () => {
      const body = { grantType: 'authorization_code', code: 'c', redirectUri: REDIRECT_URI, clientId: 'web\0', clientSecret: webSecret };
      assertWebKyc(await json('/v2/web-kyc/token', body));
      assertWebKyc(await form('/v2/web-kyc/token', new URLSearchParams(body).toString()));
    });

    it('/v2/web-kyc/token: multipart without a boundary, cut short, or with a field named __proto__ is INVALID_REQUEST_PARAMETER', async () => {
      const mark = logLines.length;
      assertWebKyc(await multipart('/v2/web-kyc/token', 'multipart/form-data', 'grantType=authorization_code'));
      assertWebKyc(await multipart('/v2/web-kyc/token', 'multipart/form-data; boundary=XX', '--XX\r\nContent-Disposition: form-data; name="code"\r\n\r\nabc'));
      assertWebKyc(await multipart('/v2/web-kyc/token', 'multipart/form-data; boundary=XX', '--XX\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nabc\r\n--XX--\r\n'));
      assert.deepEqual(errorsLoggedSince(mark), []);
    });

    it('/1-click: credential types named after Object.prototype members are treated as any unknown type', async () => {
      const ask = (phone: string, credentialRequests: unknown[]) => json('/1-click', { phone, credentialRequests }, { authorization: oneClickKey });
      const unknownMandatory = await ask('+12025550123', [{ type: 'ShoeSizeCredential', mandatory: 'yes' }]);
      assert.equal(unknownMandatory.status, 400);
      for (const type of ['ConstructorCredential', 'ToStringCredential', 'ValueOfCredential', 'HasOwnPropertyCredential', 'IsPrototypeOfCredential']) {
        const mandatory = await ask('+12025550123', [{ type, mandatory: 'yes' }]);
        assertVerified(mandatory, 400, unknownMandatory.json.data.errorCode);
        const optional = await ask('+12025550124', [{ type }, { type: 'FullNameCredential' }]);
        assert.equal(optional.status, 201, optional.body);
        assert.deepEqual(Object.keys(optional.json.identity.credentials), ['fullName']);
      }
    });

    it('/1-click: a body over the limit is 413 in Verified’s shape', async () => {
      assertVerified(await json('/1-click', { phone: '+12025550123', email: 'x'.repeat(100_000) }, { authorization: oneClickKey }), 413, 'ERR001');
    });

    it('a correctly signed Veriff webhook whose body is null is refused as malformed', async () => {
      const mark = logLines.length;
      for (const body of ['null', '42', '[]', '"text"']) {
        const signature = createHmac('sha256', VERIFF.sharedSecret).update(body).digest('hex');
        const answer = await send({
          method: 'POST',
          url: '/verification/webhooks/veriff',
          headers: { 'content-type': 'application/json', 'x-auth-client': VERIFF.apiKey, 'x-hmac-signature': signature },
          payload: body,
        });
        assertProblem(answer, 400, 'validation_failed');
      }
      assert.deepEqual(errorsLoggedSince(mark), []);
    });

    it('a URL that does not decode is answered in the format of the surface it belongs to, echoing nothing', async () => {
      const bad = (path: string) => send({ method: 'GET', url: `${path}/%zz%E0%A4%A` });
      for (const answer of [await bad('/oauth/token'), await bad('/.well-known')]) assertOAuthError(answer);
      for (const path of ['/authorize', '/web-kyc/flows', '/interaction', '/1-click/wallet', '/verification/sandbox']) {
        const answer = await bad(path);
        assertPage(answer);
        assert.doesNotMatch(answer.body, /%zz/);
      }
      const page = await platform.app.inject({ method: 'GET', url: '/authorize/%zz' });
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'/, 'the page has the pages\' security headers');
      assertVault(await bad('/reg/auth/token'));
      assertWebKyc(await bad('/v2/web-kyc/details'));
      assertVerified(await bad('/1-click'), 400, 'ERR001');
      assertVerified(await bad('/v2/1-click'), 400, 'ERR001');
      assertProblem(await bad('/healthz'), 400, 'validation_failed');
    });

    it('an unknown path is a 404 in the format of the surface it belongs to', async () => {
      const get = (url: string) => send({ method: 'GET', url });
      assertPage(await get('/interaction/abcdefgh/unknown'), 404);
      assertPage(await get('/web-kyc/flows/unknown/x'), 404);
      assertPage(await get('/1-click/wallet/x/y/z'), 404);
      assertWebKyc(await get('/v2/web-kyc/unknown'), 'NOT_FOUND', 404);
      assertVerified(await get('/1-click/a/b/c'), 404, 'ERR001');
      assertProblem(await get('/no/such/path'), 404, 'not_found');
      // Under the OAuth engine's mount: an unknown path, or a method the endpoint does not take.
      assertOAuthError(await get('/oauth/nothing'), 404);
      assertOAuthError(await get('/oauth/token'), 404);
      assertOAuthError(await send({ method: 'PATCH', url: '/oauth/token' }), 404);
    });

    it('hosted pages answer malformed parameters with a page, not JSON', async () => {
      assertPage(await send({ method: 'GET', url: '/interaction/x' }));
      assertPage(await send({ method: 'GET', url: '/verification/not-an-id/return' }));
      assertPage(await send({ method: 'GET', url: '/verification/sandbox/not-an-id/liveness' }));
    });

    it('a client that disconnects mid-request is not logged as an error', async () => {
      const mark = logLines.length;
      const { port } = new URL(platform.url);
      const cases = [
        ['/1-click', 'application/json', '{"phone":"+1202'],
        ['/oauth/token', 'application/x-www-form-urlencoded', 'grant_type=refresh_'],
        ['/v2/web-kyc/token', 'multipart/form-data; boundary=XX', '--XX\r\nContent-Disposition: form-data; name="code"\r\n\r\nab'],
        ['/reg/auth/token', 'application/json', '{"grant_type":'],
      ];
      for (const [path, type, partial] of cases) {
        const socket = connect(Number(port), '127.0.0.1').on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${oneClickKey}\r\nContent-Type: ${type}\r\nContent-Length: 1000\r\n\r\n${partial}`);
        await sleep(50);
        socket.resetAndDestroy();
      }
      await sleep(300);
      const logged = logLines.slice(mark);
      assert.deepEqual(errorsLoggedSince(mark), []);
      assert.ok(logged.every((line) => !/"stack"/.test(line)), logged.join('\n'));
    });
  });
}
