import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { passwordClient, user } from './support/fixtures.ts';
import { basic, postForm, postJson } from './support/http.ts';
import { mintGrant } from './support/oauth-mint.ts';

/**
 * A refresh token or an authorization code presented several times at once: one request
 * wins, and the reuse the others reveal must kill every token of the grant, the winner's
 * included, whenever the winner writes them.
 */

const REDIRECT_URI = 'https://app.example/callback';
const VERIFIER = 'a'.repeat(43);
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

/** PostgreSQL runs requests truly side by side; the embedded database one query at a time. */
const RACES = { postgres: 200, pglite: 10 } as const;
const VAULT_RACES = { postgres: 50, pglite: 5 } as const;

for (const backend of await backends()) {
  describe(`Refresh token and code reuse under concurrency (${backend})`, () => {
    let platform: TestPlatform;
    let accountId: string;
    let auth: { authorization: string };

    before(async () => {
      platform = await startPlatform(backend);
      accountId = (await user(platform, 'ada@example.com')).id;
      const { secret } = await platform.services.clients.save({
        clientId: 'race-app',
        name: 'Race App',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT_URI],
        scope: 'openid email',
      });
      auth = { authorization: basic('race-app', secret!) };
      await passwordClient(platform, { scope: 'openid' });
    });
    after(() => platform?.close());

    const token = (form: Record<string, string>) => postForm(platform, '/oauth/token', form, auth);

    /** Every token the race handed out must be refused everywhere it could be used. */
    async function assertAllDead(answers: Awaited<ReturnType<typeof token>>[], race: string) {
      for (const answer of answers) {
        assert.ok(answer.status === 200 || (answer.status === 400 && answer.body.error === 'invalid_grant'), `${race}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      const won = answers.filter((a) => a.status === 200).map((a) => a.body);
      for (const tokens of won) {
        const introspection = await postForm(platform, '/oauth/introspect', { token: tokens.access_token }, auth);
        assert.deepEqual(introspection.body, { active: false }, `${race}: the winner's access token is still active`);
        const userinfo = await platform.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } });
        assert.equal(userinfo.statusCode, 401, `${race}: the winner's access token still reads userinfo`);
        assert.ok(tokens.refresh_token, `${race}: a refresh token was issued`);
        const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
        assert.equal(refreshed.body.error, 'invalid_grant', `${race}: the winner's refresh token still refreshes`);
      }
      return won.length;
    }

    for (const racers of [2, 10]) {
      it(`${RACES[backend]} races of ${racers} refreshes with one refresh token leave no token alive`, async () => {
        let winners = 0;
        for (let race = 0; race < RACES[backend]; race++) {
          const grant = await mintGrant(platform, 'race-app', accountId, 'openid email');
          const refreshToken = await grant.refreshToken();
          const answers = await Promise.all(Array.from({ length: racers }, () => token({ grant_type: 'refresh_token', refresh_token: refreshToken })));
          winners += await assertAllDead(answers, `refresh race ${race}`);
        }
        assert.ok(winners > 0, 'some races had a winner, so the winner’s tokens were checked');
      });

      it(`${RACES[backend]} races of ${racers} redemptions of one authorization code leave no token alive`, async () => {
        let winners = 0;
        for (let race = 0; race < RACES[backend]; race++) {
          const grant = await mintGrant(platform, 'race-app', accountId, 'openid email');
          const code = await grant.authorizationCode(REDIRECT_URI, CHALLENGE);
          const answers = await Promise.all(
            Array.from({ length: racers }, () => token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })),
          );
          winners += await assertAllDead(answers, `code race ${race}`);
        }
        assert.ok(winners > 0, 'some races had a winner, so the winner’s tokens were checked');
      });
    }

    it(`${VAULT_RACES[backend]} races of 10 refreshes through Vault's door leave no token alive and answer in Vault's shape`, async () => {
      let winners = 0;
      for (let race = 0; race < VAULT_RACES[backend]; race++) {
        const grant = await mintGrant(platform, 'vault-app', accountId, 'openid');
        const refreshToken = await grant.refreshToken();
        const answers = await Promise.all(Array.from({ length: 10 }, () => postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })));
        for (const answer of answers) {
          assert.ok(answer.status === 200 || (answer.status === 401 && answer.body.message === 'The Token is invalid'), `vault race ${race}: ${answer.status} ${JSON.stringify(answer.body)}`);
        }
        for (const tokens of answers.filter((a) => a.status === 200).map((a) => a.body)) {
          winners++;
          const userinfo = await platform.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } });
          assert.equal(userinfo.statusCode, 401, `vault race ${race}: the winner's access token still reads userinfo`);
          const refreshed = await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
          assert.equal(refreshed.status, 401, `vault race ${race}: the winner's refresh token still refreshes`);
        }
      }
      // The embedded database interleaves the door's extra reads so that a loser always revokes
      // before the winner answers; PostgreSQL lets winners through, whose tokens are checked.
      if (backend === 'postgres') assert.ok(winners > 0, 'some races had a winner, so the winner’s tokens were checked');
    });

    it('a refresh token used once, and only once, keeps the grant alive', async () => {
      const grant = await mintGrant(platform, 'race-app', accountId, 'openid email');
      const first = await token({ grant_type: 'refresh_token', refresh_token: await grant.refreshToken() });
      assert.equal(first.status, 200);
      const second = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
      assert.equal(second.status, 200);
      const introspection = await postForm(platform, '/oauth/introspect', { token: second.body.access_token }, auth);
      assert.equal(introspection.body.active, true);
    });
  });
}
