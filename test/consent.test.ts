import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot, startLoopbackApp, type LoopbackApp } from './support/browser.ts';
import { PASSWORD, user } from './support/fixtures.ts';
import { FormBrowser } from './support/form-browser.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * Consent: every hand-over of personal data to an operator is one record, whatever the
 * door. Here the OIDC door (the 1-Click and Web KYC doors are asserted beside their own
 * tests: test/one-click-api.test.ts, test/web-kyc.test.ts) and what the person sees of
 * every door: their account page, in Chromium, on idflow's own sign-in session.
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

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

for (const backend of await backends()) {
  describe(`what a person sees of what was shared (${backend})`, () => {
    let platform: TestPlatform;
    let app: LoopbackApp;
    let callback: string;
    let config: oidc.Configuration;
    let adaId: string;
    let graceId: string;

    async function newPage(): Promise<Page> {
      return (await browser.newContext()).newPage();
    }

    async function signInForm(page: Page, username: string, password: string) {
      await page.getByLabel('Email or phone number').fill(username);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    /** The hand-overs the page lists: the heading of each, and its list of what was shared. */
    async function listed(page: Page) {
      return page.locator('li.hand-over').evaluateAll((items) =>
        items.map((item) => ({
          to: item.querySelector('h2')!.textContent!.trim(),
          how: item.querySelector('p')!.textContent!.trim(),
          what: [...item.querySelectorAll('ul li')].map((li) => li.textContent!.trim()),
        })),
      );
    }

    before(async () => {
      platform = await startPlatform(backend, { listen: true });
      app = await startLoopbackApp();
      callback = `${app.origin}/cb`;
      adaId = (await user(platform, 'ada@example.com')).id;
      graceId = (await user(platform, 'grace@example.com')).id;
      const { secret } = await platform.services.clients.save({
        clientId: 'news-app',
        name: 'Daily News',
        grantTypes: ['authorization_code'],
        redirectUris: [callback],
        scope: 'openid email',
      });
      await platform.services.clients.save({ clientId: 'bank', name: 'First Bank', oneClick: { integration: 'non_hosted', environment: 'production' } });
      await platform.services.oauth.reloadIfChanged();
      config = await oidc.discovery(new URL(platform.url), 'news-app', { redirect_uris: [callback] }, oidc.ClientSecretBasic(secret!), {
        execute: [oidc.allowInsecureRequests],
      });
    });
    after(async () => {
      await app?.close();
      await platform?.close();
    });

    it('lists every hand-over of the signed-in person\'s data, newest first: to whom, when, how and what, never the values', async () => {
      // Ada signs in to Daily News and allows it her email address: the OIDC door.
      const page = await newPage();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: callback, scope: 'openid email', state: oidc.randomState() });
      await page.goto(url.href);
      await signInForm(page, 'ada@example.com', PASSWORD);
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((u) => u.href.startsWith(`${callback}?`));
      // Earlier, First Bank received her name and birth date by 1-Click; a Web KYC hand-over
      // (no account) and Grace's hand-overs are not hers.
      const sharedAt = new Date(Date.now() - 86_400_000);
      await platform.services.repos.consents.insert({ door: 'one_click', userId: adaId, clientId: 'bank', shared: ['phone', 'fullName', 'birthDate'] }, sharedAt);
      await platform.services.consents.record({ door: 'web_kyc', clientId: 'bank', shared: ['documentNumber', 'surname'] });
      await platform.services.consents.record({ door: 'oidc', userId: graceId, clientId: 'news-app', shared: ['sub', 'phone_number'] });

      // Signed in to the application, she is signed in to her account page too.
      await page.goto(`${platform.url}/account`);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Shared with applications');
      const items = await listed(page);
      assert.deepEqual(
        items.map(({ to, what }) => ({ to, what })),
        [
          { to: 'Daily News', what: ['Your account id', 'Email address', 'Whether your email address is verified'] },
          { to: 'First Bank', what: ['Phone number', 'Full name', 'Date of birth'] },
        ],
      );
      assert.match(items[0]!.how, /You allowed it when signing in/);
      assert.match(items[1]!.how, /Shared with 1-Click/);
      const day = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(sharedAt);
      assert.ok(items[1]!.how.startsWith(day), `the date is shown: ${items[1]!.how}`);
      const text = await page.locator('main').textContent();
      assert.ok(!text!.includes('ada@example.com'), 'what was shared, by name: not the values');
      await screenshot(page, `${backend}-account-shared`);
      await page.context().close();
    });

    it('signs a person in on the page itself, with the sign-in every application uses, and refuses a form from another site', async () => {
      const page = await newPage();
      await page.goto(`${platform.url}/account`);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your account');
      await signInForm(page, 'grace@example.com', 'not her password');
      assert.equal(await page.getByRole('alert').textContent(), 'That email, phone number or password is not right.');
      await signInForm(page, 'grace@example.com', PASSWORD);
      await page.waitForURL(`${platform.url}/account`);
      assert.deepEqual((await listed(page)).map(({ to, what }) => ({ to, what })), [{ to: 'Daily News', what: ['Your account id', 'Phone number'] }]);

      // The same session signs her in for applications: Daily News asks only for consent.
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: callback, scope: 'openid email', state: oidc.randomState() });
      await page.goto(url.href);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Allow Daily News?');
      await page.context().close();

      // Another site cannot sign a visitor in to an account of its choosing: its form has no
      // token bound to the visitor's browser.
      const signIn = (headers: Record<string, string>, form: Record<string, string>) =>
        platform.app.inject({
          method: 'POST',
          url: '/account/sign-in',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          payload: new URLSearchParams({ username: 'grace@example.com', password: PASSWORD, ...form }).toString(),
        });
      const sessionCookie = (answer: { headers: Record<string, unknown> }) => [answer.headers['set-cookie'] ?? []].flat().some((c) => String(c).startsWith('_session='));
      const forged = await signIn({ origin: 'https://evil.example' }, {});
      assert.equal(forged.statusCode, 403);
      assert.ok(!sessionCookie(forged), 'no session');
      // A token from the attacker's own visit does not open the visitor's browser.
      const attackers = await platform.app.inject({ url: '/account' });
      const token = /name="csrf" value="([^"]+)"/.exec(attackers.body)![1]!;
      const replayed = await signIn({ cookie: 'idflow_account=the-visitors-own' }, { csrf: token });
      assert.equal(replayed.statusCode, 403);
      assert.ok(!sessionCookie(replayed), 'no session');
    });
  });
}
