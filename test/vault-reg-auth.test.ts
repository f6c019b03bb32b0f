import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { PASSWORD, passwordClient, user } from './support/fixtures.ts';
import { basic, postForm, postJson } from './support/http.ts';
import { ManualClock } from '../src/kernel/clock.ts';

for (const backend of await backends()) {
  describe(`Vault POST /reg/auth/token (${backend})`, () => {
    let platform: TestPlatform;
    let userId: string;
    const clock = new ManualClock();

    before(async () => {
      platform = await startPlatform(backend, { clock, env: { IDFLOW_SIGNIN_ACCOUNT_FAILURES: '3', IDFLOW_SIGNIN_IP_FAILURES: '8' } });
      await passwordClient(platform);
      userId = (await user(platform)).id;
      await user(platform, 'grace@example.com');
    });
    after(() => platform.close());

    const signIn = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      postJson(platform, '/reg/auth/token', { grant_type: 'password', client_id: 'vault-app', ...body }, headers);

    it('signs in with a password and answers in Vault’s shape', async () => {
      const res = await signIn({ username: 'ada@example.com', password: PASSWORD });
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type', 'user_id']);
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(res.body.expires_in, 86400);
      assert.equal(res.body.user_id, userId);
      assert.match(res.body.user_id, /^usr:[0-9a-f-]{36}$/);
      assert.equal(res.body.scope, 'accounts:read accounts:create user_mfa:read');
      assert.ok(res.headers['x-request-id']);
    });

    it('accepts a form body too, and a narrower scope', async () => {
      const res = await postForm(platform, '/reg/auth/token', {
        grant_type: 'password', client_id: 'vault-app', username: 'ada@example.com', password: PASSWORD, scope: 'accounts:read',
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.scope, 'accounts:read');
    });

    it('refuses an unknown scope', async () => {
      const res = await signIn({ username: 'ada@example.com', password: PASSWORD, scope: 'accounts:read admin:everything' });
      assert.equal(res.status, 400);
      assert.equal(res.body.status, 'BAD_REQUEST');
      assert.match(res.body.message, /admin:everything/);
    });

    it('uses the client’s access-token lifetime for expires_in', async () => {
      await passwordClient(platform, { clientId: 'short-lived', accessTokenTtl: 600 });
      const res = await signIn({ client_id: 'short-lived', username: 'ada@example.com', password: PASSWORD });
      assert.equal(res.status, 200);
      assert.equal(res.body.expires_in, 600);
    });

    it('issues tokens the OIDC core accepts: introspection, userinfo, revocation', async () => {
      const { client, secret } = await platform.services.clients.save({ clientId: 'resource-server', name: 'RS', grantTypes: ['client_credentials'], scope: 'openid', introspect: true });
      const tokens = (await signIn({ username: 'ada@example.com', password: PASSWORD, scope: 'accounts:read' })).body;
      const auth = { authorization: basic(client.clientId, secret!) };
      const active = await postForm(platform, '/oauth/introspect', { token: tokens.access_token }, auth);
      assert.equal(active.body.active, true);
      assert.equal(active.body.sub, userId);
      assert.equal(active.body.client_id, 'vault-app');
      assert.equal(active.body.scope, 'accounts:read');

      const revoked = await postForm(platform, '/oauth/revoke', { token: tokens.access_token, client_id: 'vault-app' });
      assert.equal(revoked.status, 200);
      const after = await postForm(platform, '/oauth/introspect', { token: tokens.access_token }, auth);
      assert.equal(after.body.active, false);
    });

    it('lets only the token’s own client or a resource server introspect it', async () => {
      const { client, secret } = await platform.services.clients.save({ clientId: 'other-operator', name: 'Other', grantTypes: ['client_credentials'], scope: 'openid' });
      const tokens = (await signIn({ username: 'ada@example.com', password: PASSWORD })).body;
      const res = await postForm(platform, '/oauth/introspect', { token: tokens.access_token }, { authorization: basic(client.clientId, secret!) });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { active: false });
    });

    it('rotates refresh tokens and revokes the whole grant when one is reused', async () => {
      const first = (await signIn({ username: 'ada@example.com', password: PASSWORD })).body;
      const second = await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token });
      assert.equal(second.status, 200);
      assert.deepEqual(Object.keys(second.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type', 'user_id']);
      assert.notEqual(second.body.refresh_token, first.refresh_token);
      assert.equal(second.body.user_id, userId);

      const reused = await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token });
      assert.equal(reused.status, 401);
      assert.equal(reused.body.status, 'UNAUTHORIZED');
      assert.deepEqual(reused.body.errors, []);
      assert.ok(reused.body.traceId);
      // Reuse revoked the grant: the token issued from the legitimate refresh is dead too.
      const successor = await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: second.body.refresh_token });
      assert.equal(successor.status, 401);
    });

    it('lets only one of several requests racing with the same refresh token win', async () => {
      const first = (await signIn({ username: 'ada@example.com', password: PASSWORD })).body;
      const racing = await Promise.all(Array.from({ length: 6 }, () => postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token })));
      const won = racing.filter((r) => r.status === 200);
      assert.ok(won.length <= 1, `${won.length} requests were given tokens for one refresh token`);
      assert.ok(racing.filter((r) => r.status === 401).length >= 5);
    });

    it('answers 401 with the expiry date for an expired refresh token, and for an unknown one', async () => {
      const tokens = (await signIn({ username: 'ada@example.com', password: PASSWORD })).body;
      clock.advance(31 * 86400 * 1000);
      try {
        const res = await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
        assert.equal(res.status, 401);
        assert.equal(res.body.status, 'UNAUTHORIZED');
        assert.match(res.body.message, /^The Token has expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.deepEqual(res.body.errors, []);
      } finally {
        clock.advance(-31 * 86400 * 1000);
      }
      const unknown = await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: 'no-such-token' });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.status, 'UNAUTHORIZED');
    });

    it('gives a wrong username and a wrong password the same answer', async () => {
      const wrongPassword = await signIn({ username: 'grace@example.com', password: 'not the password' }, { 'x-forwarded-for': '1' });
      const wrongUser = await signIn({ username: 'nobody@example.com', password: 'not the password' });
      assert.equal(wrongPassword.status, 401);
      assert.equal(wrongUser.status, 401);
      const { traceId: _a, ...a } = wrongPassword.body;
      const { traceId: _b, ...b } = wrongUser.body;
      assert.deepEqual(a, b);
    });

    it('throttles an account after repeated failures without locking anyone else out', async () => {
      await user(platform, 'target@example.com');
      for (let i = 0; i < 3; i++) assert.equal((await signIn({ username: 'target@example.com', password: 'guess' + i })).status, 401);
      const locked = await signIn({ username: 'target@example.com', password: PASSWORD });
      assert.equal(locked.status, 429);
      assert.equal(locked.body.status, 'TOO_MANY_REQUESTS');
      assert.ok(Number(locked.headers['retry-after']) > 0);
      // Another person signs in as usual…
      assert.equal((await signIn({ username: 'ada@example.com', password: PASSWORD })).status, 200);
      // …and the lock lifts when the window passes.
      clock.advance(16 * 60 * 1000);
      assert.equal((await signIn({ username: 'target@example.com', password: PASSWORD })).status, 200);
    });

    it('throttles a client IP that tries many accounts', async () => {
      const ip = { 'x-forwarded-for': '203.0.113.9' };
      // Trust proxy is off, so every inject comes from the same loopback address: count from there.
      for (let i = 0; i < 8; i++) await signIn({ username: `spray${i}@example.com`, password: 'x'.repeat(8) }, ip);
      const res = await signIn({ username: 'ada@example.com', password: PASSWORD }, ip);
      assert.equal(res.status, 429);
      clock.advance(16 * 60 * 1000);
    });

    it('refuses the password grant to a client that has not enabled it', async () => {
      await platform.services.clients.save({ clientId: 'third-party', name: 'Third', grantTypes: ['authorization_code'], redirectUris: ['https://tp.example/cb'], public: true });
      const res = await signIn({ client_id: 'third-party', username: 'ada@example.com', password: PASSWORD });
      assert.equal(res.status, 403);
      assert.equal(res.body.status, 'FORBIDDEN');
    });

    it('refuses an unknown client', async () => {
      const res = await signIn({ client_id: 'nope', username: 'ada@example.com', password: PASSWORD });
      assert.equal(res.status, 401);
    });

    it('validates input and says which field is wrong', async () => {
      const res = await postJson(platform, '/reg/auth/token', { grant_type: 'password', client_id: 'vault-app', username: 'ada@example.com' });
      assert.equal(res.status, 400);
      assert.equal(res.body.status, 'BAD_REQUEST');
      assert.deepEqual(res.body.errors.map((e: { field: string }) => e.field), ['/password']);
      const badGrant = await postJson(platform, '/reg/auth/token', { grant_type: 'implicit' });
      assert.equal(badGrant.status, 400);
      const notJson = await platform.app.inject({ method: 'POST', url: '/reg/auth/token', headers: { 'content-type': 'application/json' }, payload: '{oops' });
      assert.equal(notJson.statusCode, 400);
      assert.equal(notJson.json().status, 'BAD_REQUEST');
      assert.doesNotMatch(notJson.body, /at .*\.ts:\d+/);
    });
  });
}
