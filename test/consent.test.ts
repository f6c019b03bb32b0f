import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { PASSWORD, user } from './support/fixtures.ts';
import { FormBrowser } from './support/form-browser.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * Consent: every hand-over of personal data to an operator is one record, whatever the
 * door. Here the OIDC door (the 1-Click and Web KYC doors are asserted beside their own
 * tests: test/one-click-api.test.ts, test/web-kyc.test.ts).
 */

const REDIRECT_URI = 'https://rp.example/cb';

for (const backend of await backends()) {
  describe(`consent records of the OIDC door (${backend})`, () => {
    let platform: TestPlatform;
    let config: oidc.Configuration;
    let adaId: string;

    /** An authorization request of the app as openid-client builds it; the person signs in and allows in `browser`. */
    async function authorize(browser: FormBrowser, scope: string, username = 'ada@example.com') {
      const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
      const expectedState = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope,
        state: expectedState,
        code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier),
        code_challenge_method: 'S256',
      });
      const callback = await browser.signIn(url.href, REDIRECT_URI, username);
      return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState });
    }

    const recordsOf = () => platform.services.consents.list({ userId: adaId, clientId: 'rp-app' });

    before(async () => {
      platform = await startPlatform(backend, { listen: true });
      adaId = (await user(platform, 'ada@example.com')).id;
      await user(platform, 'grace@example.com');
      const { secret } = await platform.services.clients.save({
        clientId: 'rp-app',
        name: 'Relying Party',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT_URI],
        scope: 'openid email phone offline_access',
      });
      await platform.services.oauth.reloadIfChanged();
      config = await oidc.discovery(new URL(platform.url), 'rp-app', { redirect_uris: [REDIRECT_URI] }, oidc.ClientSecretBasic(secret!), {
        execute: [oidc.allowInsecureRequests],
      });
    });
    after(() => platform?.close());

    it('records the person\'s agreement on the consent page: the client, the person and the claims its scopes release, by name', async () => {
      const browser = new FormBrowser(platform.app, platform.url);
      const tokens = await authorize(browser, 'openid email');
      const claims = tokens.claims()!;
      assert.equal(claims.sub, adaId);

      const records = await recordsOf();
      assert.equal(records.length, 1);
      const consent = records[0]!;
      assert.equal(consent.door, 'oidc');
      assert.equal(consent.userId, adaId);
      assert.equal(consent.clientName, 'Relying Party');
      assert.deepEqual(consent.shared, ['sub', 'email', 'email_verified']);
      assert.deepEqual(consent.credentialIds, []);
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, adaId);
      assert.equal(userinfo.email, 'ada@example.com');
      assert.ok(Object.keys(userinfo).every((claim) => consent.shared.includes(claim)), 'what the client reads is what the record names');
      const [row] = await platform.services.db.query('select * from consents where id = $1', [consent.id]);
      assert.ok(!JSON.stringify(row).includes('ada@example.com'), 'names, never values');

      // Signed in and consented already: the app gets its tokens again with nothing new to record.
      await authorize(browser, 'openid email');
      assert.equal((await recordsOf()).length, 1);

      // Asking for more: the person agrees to the phone number, and that alone is recorded.
      await authorize(browser, 'openid email phone');
      const [latest, first] = await recordsOf();
      assert.equal(first!.id, consent.id);
      assert.deepEqual(latest!.shared, ['phone_number', 'phone_number_verified']);
    });

    it('records nothing when the person declines', async () => {
      const browser = new FormBrowser(platform.app, platform.url);
      /** Follows the redirects that stay on idflow; returns the page, or the answer sent to the app. */
      const follow = async (response: Awaited<ReturnType<FormBrowser['request']>>) => {
        while (typeof response.headers.location === 'string' && !response.headers.location.startsWith(REDIRECT_URI)) response = await browser.request('GET', response.headers.location);
        return response;
      };
      const form = (body: string, action: string) => ({ action: new RegExp(`action="([^"]+/${action})"`).exec(body)![1]!, csrf: /name="csrf" value="([^"]+)"/.exec(body)![1]! });
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid email', state: oidc.randomState() });
      const loginPage = await follow(await browser.request('GET', url.href));
      const login = form(loginPage.body, 'login');
      const consentPage = await follow(await browser.request('POST', login.action, { csrf: login.csrf, username: 'grace@example.com', password: PASSWORD }));
      const deny = form(consentPage.body, 'abort');
      const answer = await follow(await browser.request('POST', deny.action, { csrf: deny.csrf }));
      assert.equal(new URL(String(answer.headers.location)).searchParams.get('error'), 'access_denied');
      assert.deepEqual((await platform.services.consents.list({ clientId: 'rp-app' })).filter((c) => c.userId !== adaId), []);
    });
  });
}
