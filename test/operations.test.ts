import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { PASSWORD, passwordClient, user } from './support/fixtures.ts';
import { postJson } from './support/http.ts';
import { startFakeVeriff, type FakeVeriff } from './support/fake-veriff.ts';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';

for (const backend of await backends()) {
  describe(`operations surface (${backend})`, () => {
    let platform: TestPlatform;
    const logLines: string[] = [];
    before(async () => {
      platform = await startPlatform(backend, { logLines });
      await passwordClient(platform);
      await user(platform);
    });
    after(() => platform.close());

    it('answers liveness and readiness', async () => {
      assert.deepEqual((await platform.app.inject('/healthz')).json(), { status: 'ok' });
      const ready = await platform.app.inject('/readyz');
      assert.equal(ready.statusCode, 200);
      assert.equal(ready.json().status, 'ready');
    });

    it('exposes Prometheus metrics, counting the OAuth endpoints too', async () => {
      await platform.app.inject('/.well-known/openid-configuration');
      const res = await platform.app.inject('/metrics');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/plain/);
      assert.match(res.body, /idflow_http_request_duration_seconds_bucket\{.*route="\/.well-known\/openid-configuration".*status="200"/);
      assert.match(res.body, /idflow_process_cpu_seconds_total/);
    });

    it('serves an OpenAPI document generated from the route schemas', async () => {
      const doc = (await platform.app.inject('/openapi.json')).json();
      assert.equal(doc.openapi, '3.1.0');
      assert.ok(doc.paths['/reg/auth/token'].post.requestBody);
      assert.ok(doc.paths['/healthz'].get);
    });

    it('sends the page security headers on pages the OAuth engine renders', async () => {
      const res = await platform.app.inject('/oauth/authorize?client_id=nope&response_type=code');
      assert.match(String(res.headers['content-type']), /text\/html/);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
      assert.match(String(res.headers['content-security-policy']), /(^|; )form-action 'self'(;|$)/, 'a page that leads nowhere else sends forms to idflow only');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    });

    it('answers /reg/auth/token with no-store and no-cache, on success and on every error', async () => {
      const signIn = await postJson(platform, '/reg/auth/token', { grant_type: 'password', client_id: 'vault-app', username: 'ada@example.com', password: PASSWORD });
      assert.equal(signIn.status, 200);
      const answers = [
        signIn,
        await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: signIn.body.refresh_token }),
        await postJson(platform, '/reg/auth/token', { grant_type: 'password', client_id: 'vault-app', username: 'ada@example.com', password: 'not the password' }),
        await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: 'unknown-refresh-token' }),
        await postJson(platform, '/reg/auth/token', { grant_type: 'password', client_id: 'vault-app' }),
        await postJson(platform, '/reg/auth/token', { grant_type: 'password', client_id: 'no-such-client', username: 'ada@example.com', password: PASSWORD }),
      ];
      const malformed = await platform.app.inject({ method: 'POST', url: '/reg/auth/token', headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' });
      answers.push({ status: malformed.statusCode, headers: malformed.headers, body: {} });
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 401, 401, 400, 401, 400]);
      for (const answer of answers) {
        assert.equal(answer.headers['cache-control'], 'no-store', `Cache-Control of the ${answer.status} answer`);
        assert.equal(answer.headers.pragma, 'no-cache', `Pragma of the ${answer.status} answer`);
      }
    });

    it('lets the login, consent and form_post pages send their forms to idflow and on to the client’s redirect URI, nowhere else', async () => {
      await platform.services.clients.save({ clientId: 'csp-web', name: 'CSP', redirectUris: ['https://app.example:8443/cb?x=1'], grantTypes: ['authorization_code'], scope: 'openid email', public: true });
      await platform.services.oauth.reloadIfChanged();
      const query = new URLSearchParams({
        client_id: 'csp-web',
        response_type: 'code',
        response_mode: 'form_post',
        scope: 'openid email',
        redirect_uri: 'https://app.example:8443/cb?x=1',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSstw-cM',
        code_challenge_method: 'S256',
      });
      // A browser: keeps cookies, follows nothing by itself.
      const jar = new Map<string, string>();
      const browse = async (url: string, form?: Record<string, string>) => {
        const answer = await platform.app.inject({
          method: form ? 'POST' : 'GET',
          url,
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
          ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
        });
        for (const c of answer.cookies) jar.set(c.name, c.value);
        return answer;
      };
      const csrfOf = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)![1]!;
      const expected = "'self' https://app.example:8443";

      const loginUrl = String((await browse(`/oauth/authorize?${query}`)).headers.location);
      const login = await browse(loginUrl);
      assert.equal(login.statusCode, 200);
      assert.equal(formAction(login.headers), expected);
      assert.match(String(login.headers['content-security-policy']), /default-src 'none'/);
      assert.equal(login.headers['x-frame-options'], 'DENY');

      const signedIn = await browse(`${loginUrl}/login`, { csrf: csrfOf(login.body), username: 'ada@example.com', password: PASSWORD });
      const consentUrl = String((await browse(String(signedIn.headers.location))).headers.location);
      const consent = await browse(consentUrl);
      assert.match(consent.body, /action="\/interaction\/[^"]+\/consent"/);
      assert.equal(formAction(consent.headers), expected);

      const granted = await browse(`${consentUrl}/consent`, { csrf: csrfOf(consent.body) });
      const formPost = await browse(String(granted.headers.location));
      assert.equal(formPost.statusCode, 200);
      assert.match(formPost.body, /<form method="post" action="https:\/\/app\.example:8443\/cb\?x=1">/);
      assert.equal(formAction(formPost.headers), expected, 'the form_post page may post to the redirect URI');
      assert.match(String(formPost.headers['content-security-policy']), /script-src 'self' 'sha256-/, 'with the hash of its one script');
    });

    it('answers unknown routes with problem+json and a request id, never a stack', async () => {
      const res = await platform.app.inject({ url: '/no/such/thing', headers: { 'x-request-id': 'trace-12345678' } });
      assert.equal(res.statusCode, 404);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.equal(res.headers['x-request-id'], 'trace-12345678');
      const body = res.json();
      assert.equal(body.code, 'not_found');
      assert.equal(body.status, 404);
      assert.equal(body.traceId, 'trace-12345678');
    });

    it('keeps passwords, tokens and query strings out of the logs', async () => {
      const signIn = await postJson(platform, '/reg/auth/token', { grant_type: 'password', client_id: 'vault-app', username: 'ada@example.com', password: PASSWORD });
      assert.equal(signIn.status, 200);
      await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: signIn.body.refresh_token });
      await platform.app.inject(`/oauth/authorize?client_id=vault-app&code_challenge=secret-looking-value&state=${signIn.body.access_token}`);
      const logged = logLines.join('\n');
      assert.ok(logLines.length > 0, 'requests are logged');
      for (const secret of [PASSWORD, signIn.body.access_token, signIn.body.refresh_token, 'secret-looking-value', 'ada@example.com']) {
        assert.ok(!logged.includes(secret), `the logs must not contain ${secret.slice(0, 6)}…`);
      }
      assert.match(logged, /"requestId":/);
    });
  });
}

/** The form-action of a page's Content-Security-Policy. */
const formAction = (headers: Record<string, unknown>) => /(?:^|;)\s*form-action ([^;]+)/.exec(String(headers['content-security-policy']))?.[1];

describe('form-action of the Web KYC pages, with a vendor', () => {
  let platform: TestPlatform;
  let fake: FakeVeriff;
  before(async () => {
    fake = await startFakeVeriff();
    platform = await startPlatform('pglite', { env: { IDFLOW_VERIFF_API_KEY: fake.apiKey, IDFLOW_VERIFF_SHARED_SECRET: fake.sharedSecret, IDFLOW_VERIFF_BASE_URL: fake.baseUrl } });
    await platform.services.clients.save({ clientId: 'kyc-shop', name: 'KYC shop', redirectUris: ['https://kyc-shop.example/kyc'], grantTypes: ['authorization_code'], scope: 'openid' });
    await saveWebKycSettings(platform.services.repos.clients, 'kyc-shop', { enabled: true, provider: 'veriff' });
  });
  after(async () => {
    await platform.close();
    await fake.close();
  });

  it('lets the introduction’s forms end at the redirect URI, and hands the person to the vendor with a page, not a redirect its form-action would block', async () => {
    const query = new URLSearchParams({ response_type: 'code', client_id: 'kyc-shop', redirect_uri: 'https://kyc-shop.example/kyc', scope: 'kyc', state: 's1' });
    const authorize = await platform.app.inject(`/authorize?${query}`);
    const intro = String(authorize.headers.location);
    const cookie = authorize.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const page = await platform.app.inject({ url: intro, headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.equal(formAction(page.headers), "'self' https://kyc-shop.example");

    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const start = await platform.app.inject({ method: 'POST', url: `${intro}/start`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ csrf }).toString() });
    assert.equal(start.statusCode, 200, start.body);
    assert.equal(start.headers.location, undefined);
    const session = [...fake.sessions.values()].at(-1)!;
    assert.ok(start.body.includes(`<meta http-equiv="refresh" content="0;url=${session.url}">`), start.body);
    assert.ok(start.body.includes(`href="${session.url}"`), 'and a link, should the browser not move on');
    assert.equal(formAction(start.headers), "'self'");
    assert.equal(start.headers['cache-control'], 'no-store');
  });
});
