import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { PASSWORD, user } from './support/fixtures.ts';
import { launchBrowser, screenshot, startLoopbackApp, type LoopbackApp } from './support/browser.ts';
import { ID_TOKEN_TTL } from '../src/oauth/engine.ts';
import { rotateSigningKey } from '../src/oauth/signing-keys.ts';

/**
 * idflow as an OpenID Provider, driven by a certified relying-party library (openid-client)
 * and a real browser on the hosted login, consent and logout pages.
 */

const USER_ID = /^usr:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

/** What the relying party keeps between sending the browser away and getting it back. */
interface PendingAuthorization {
  url: URL;
  checks: { pkceCodeVerifier: string; expectedState: string; expectedNonce: string };
}

async function authorizationRequest(config: oidc.Configuration, redirectUri: string, extra: Record<string, string> = {}): Promise<PendingAuthorization> {
  const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
  const expectedState = oidc.randomState();
  const expectedNonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email',
    state: expectedState,
    nonce: expectedNonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce } };
}

async function fillLogin(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Email or phone number').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function heading(page: Page): Promise<string> {
  return (await page.getByRole('heading', { level: 1 }).textContent())?.trim() ?? '';
}

/** Which element has focus, described by its id or its accessible text. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return el ? el.id || `${el.tagName.toLowerCase()}:${el.textContent?.trim()}` : '';
  });
}

async function rejection<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    return error;
  }
  assert.fail(`expected the call to fail with ${type.name}`);
}

for (const backend of await backends()) {
  describe(`OAuth 2.0 / OpenID Connect interoperability (${backend})`, () => {
    let platform: TestPlatform;
    let app: LoopbackApp;
    let issuer: URL;
    let callback: string;
    let adaId: string;
    let webSecret: string;
    let serviceSecret: string;
    /** The relying parties, each as openid-client configures itself from discovery. */
    let web: oidc.Configuration;
    let spa: oidc.Configuration;
    let service: oidc.Configuration;
    const contexts: BrowserContext[] = [];

    const discover = (clientId: string, secret?: string, metadata: Partial<oidc.ClientMetadata> = {}) =>
      oidc
        .discovery(
          issuer,
          clientId,
          { id_token_signed_response_alg: 'ES256', ...metadata },
          secret === undefined ? oidc.None() : oidc.ClientSecretBasic(secret),
          { execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] },
        );

    async function newPage(): Promise<Page> {
      const context = await browser.newContext();
      contexts.push(context);
      return context.newPage();
    }

    /** Waits until the browser is back at the app's callback, and returns that URL. */
    async function backAtCallback(page: Page): Promise<URL> {
      await page.waitForURL((url) => url.href.startsWith(`${callback}?`));
      return new URL(page.url());
    }

    /** The whole authorization code flow as a person does it: login, consent, back to the app. */
    async function signInThroughBrowser(config: oidc.Configuration, page: Page, username = 'ada@example.com') {
      const request = await authorizationRequest(config, callback);
      await page.goto(request.url.href);
      await fillLogin(page, username, PASSWORD);
      await page.getByRole('button', { name: 'Allow' }).click();
      const tokens = await oidc.authorizationCodeGrant(config, await backAtCallback(page), request.checks);
      return { tokens, claims: tokens.claims()! };
    }

    before(async () => {
      platform = await startPlatform(backend, { listen: true });
      app = await startLoopbackApp();
      issuer = new URL(platform.url);
      callback = `${app.origin}/cb`;
      adaId = (await user(platform, 'ada@example.com')).id;
      await user(platform, 'grace@example.com');
      const clients = platform.services.clients;
      webSecret = (await clients.save({
        clientId: 'web-app',
        name: 'Web App',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [callback],
        postLogoutRedirectUris: [`${app.origin}/signed-out`],
        scope: 'openid email',
      })).secret!;
      await clients.save({
        clientId: 'spa-app',
        name: 'Single Page App',
        public: true,
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [callback],
        scope: 'openid email',
      });
      serviceSecret = (await clients.save({ clientId: 'inventory-service', name: 'Inventory', grantTypes: ['client_credentials'], scope: 'inventory:read' })).secret!;
      await platform.services.oauth.reloadIfChanged();
      [web, spa, service] = await Promise.all([discover('web-app', webSecret), discover('spa-app'), discover('inventory-service', serviceSecret)]);
    });
    after(async () => {
      await Promise.all(contexts.map((c) => c.close()));
      await app?.close();
      await platform?.close();
    });

    it('publishes a discovery document and JWKS a relying party accepts', async () => {
      const meta = web.serverMetadata();
      assert.equal(meta.issuer, platform.url);
      assert.equal(meta.authorization_endpoint, `${platform.url}/oauth/authorize`);
      assert.equal(meta.token_endpoint, `${platform.url}/oauth/token`);
      assert.equal(meta.userinfo_endpoint, `${platform.url}/oauth/userinfo`);
      assert.equal(meta.jwks_uri, `${platform.url}/oauth/jwks`);
      assert.equal(meta.introspection_endpoint, `${platform.url}/oauth/introspect`);
      assert.equal(meta.revocation_endpoint, `${platform.url}/oauth/revoke`);
      assert.equal(meta.end_session_endpoint, `${platform.url}/oauth/logout`);
      assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(meta.response_types_supported, ['code']);
      assert.deepEqual(meta.id_token_signing_alg_values_supported, ['ES256']);
      for (const grant of ['authorization_code', 'refresh_token', 'client_credentials']) {
        assert.ok(meta.grant_types_supported?.includes(grant), `grant_types_supported lists ${grant}`);
      }
      assert.ok(meta.scopes_supported?.includes('openid'));
      assert.equal(meta.authorization_response_iss_parameter_supported, true);

      const jwks = (await (await fetch(meta.jwks_uri!)).json()) as JSONWebKeySet;
      assert.equal(jwks.keys.length, 1);
      const [key] = jwks.keys;
      assert.equal(key!.kty, 'EC');
      assert.equal(key!.crv, 'P-256');
      assert.equal(key!.alg, 'ES256');
      assert.equal(key!.use, 'sig');
      assert.ok(key!.kid);
      assert.equal(key!.d, undefined, 'the JWKS never carries private key material');
    });

    it('signs a person in with the authorization code flow and PKCE (confidential client)', async () => {
      const page = await newPage();
      const request = await authorizationRequest(web, callback);
      await page.goto(request.url.href);

      assert.equal(await heading(page), 'Sign in');
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      await screenshot(page, `${backend}-login`);
      await fillLogin(page, 'ada@example.com', PASSWORD);

      assert.equal(await heading(page), 'Allow Web App?');
      assert.ok(await page.getByText('See your email address').isVisible());
      await screenshot(page, `${backend}-consent`);
      await page.getByRole('button', { name: 'Allow' }).click();

      const returned = await backAtCallback(page);
      assert.equal(returned.searchParams.get('iss'), platform.url);
      const tokens = await oidc.authorizationCodeGrant(web, returned, request.checks);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.access_token);
      assert.ok(tokens.refresh_token);

      // openid-client checked the ES256 signature against the JWKS, iss, aud, exp, nonce and state.
      const claims = tokens.claims()!;
      assert.equal(claims.sub, adaId);
      assert.match(claims.sub, USER_ID);
      assert.equal(claims.iss, platform.url);
      assert.equal(claims.aud, 'web-app');
      assert.equal(claims.nonce, request.checks.expectedNonce);
      assert.equal(claims.exp - claims.iat, ID_TOKEN_TTL);

      // The same token checked independently of the relying-party library.
      const header = decodeProtectedHeader(tokens.id_token!);
      assert.equal(header.alg, 'ES256');
      const jwks = (await (await fetch(`${platform.url}/oauth/jwks`)).json()) as JSONWebKeySet;
      assert.ok(jwks.keys.some((k) => k.kid === header.kid));
      const verified = await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks), { issuer: platform.url, audience: 'web-app', algorithms: ['ES256'] });
      assert.equal(verified.payload.sub, adaId);

      // A code is single use.
      const replay = await rejection(oidc.authorizationCodeGrant(web, returned, request.checks), oidc.ResponseBodyError);
      assert.equal(replay.error, 'invalid_grant');
    });

    it('signs a person in from a public client, where PKCE is required', async () => {
      const page = await newPage();
      const { tokens, claims } = await signInThroughBrowser(spa, page);
      assert.equal(claims.sub, adaId);
      assert.equal(claims.aud, 'spa-app');
      assert.ok(tokens.access_token);

      // Without a code challenge the request comes back to the app as an error it can read.
      const state = oidc.randomState();
      await page.goto(oidc.buildAuthorizationUrl(spa, { redirect_uri: callback, scope: 'openid', state, nonce: oidc.randomNonce() }).href);
      const error = await rejection(oidc.authorizationCodeGrant(spa, await backAtCallback(page), { expectedState: state }), oidc.AuthorizationResponseError);
      assert.equal(error.error, 'invalid_request');
      assert.match(error.error_description ?? '', /PKCE/);

      // The plain method is not offered and not accepted.
      const plain = await authorizationRequest(spa, callback, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
      await page.goto(plain.url.href);
      const refused = await rejection(oidc.authorizationCodeGrant(spa, await backAtCallback(page), plain.checks), oidc.AuthorizationResponseError);
      assert.equal(refused.error, 'invalid_request');

      // A code redeemed with the wrong verifier is refused.
      const wrongVerifier = await authorizationRequest(spa, callback);
      await page.goto(wrongVerifier.url.href); // signed in and consented already: straight back
      const stolen = await backAtCallback(page);
      const mismatch = await rejection(
        oidc.authorizationCodeGrant(spa, stolen, { ...wrongVerifier.checks, pkceCodeVerifier: oidc.randomPKCECodeVerifier() }),
        oidc.ResponseBodyError,
      );
      assert.equal(mismatch.error, 'invalid_grant');
    });

    it('says so on the page when the password is wrong, keeping what was typed as the username', async () => {
      const page = await newPage();
      const request = await authorizationRequest(web, callback);
      await page.goto(request.url.href);
      await fillLogin(page, 'grace@example.com', 'not the password');

      assert.equal(await heading(page), 'Sign in');
      const alert = page.getByRole('alert');
      assert.ok(await alert.isVisible());
      assert.match((await alert.textContent()) ?? '', /not right/);
      assert.equal(await page.getByLabel('Email or phone number').inputValue(), 'grace@example.com');
      assert.equal(await page.getByLabel('Password').inputValue(), '');
      assert.equal(await page.getByLabel('Email or phone number').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByLabel('Email or phone number').getAttribute('aria-describedby'), 'form-error');
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      await screenshot(page, `${backend}-login-error`);

      // Trying again with the right password goes on as usual.
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Allow' }).click();
      const tokens = await oidc.authorizationCodeGrant(web, await backAtCallback(page), request.checks);
      assert.notEqual(tokens.claims()!.sub, adaId);
    });

    it('labels every field and can be used with the keyboard alone', async () => {
      const page = await newPage();
      const request = await authorizationRequest(web, callback);
      await page.goto(request.url.href);

      const unlabelled = await page.$$eval('input:not([type=hidden]), select, textarea', (fields) =>
        fields.filter((f) => !f.id || !document.querySelector(`label[for="${f.id}"]`)).map((f) => f.outerHTML),
      );
      assert.deepEqual(unlabelled, []);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');

      assert.equal(await focused(page), 'username', 'the username field has focus when the page opens');
      await page.keyboard.type('ada@example.com');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'password');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'button:Sign in');
      await page.keyboard.press('Enter');

      await page.getByRole('button', { name: 'Allow' }).waitFor();
      assert.equal(await focused(page), 'button:Allow');
      await page.keyboard.press('Enter');
      const tokens = await oidc.authorizationCodeGrant(web, await backAtCallback(page), request.checks);
      assert.equal(tokens.claims()!.sub, adaId);
    });

    it('sends the app access_denied when the person denies consent', async () => {
      const page = await newPage();
      const request = await authorizationRequest(spa, callback);
      await page.goto(request.url.href);
      await fillLogin(page, 'ada@example.com', PASSWORD);
      await page.getByRole('button', { name: 'Deny' }).click();
      const returned = await backAtCallback(page);
      assert.equal(returned.searchParams.get('error'), 'access_denied');
      assert.equal(returned.searchParams.get('state'), request.checks.expectedState);
      assert.equal(returned.searchParams.get('code'), null);
      const error = await rejection(oidc.authorizationCodeGrant(spa, returned, request.checks), oidc.AuthorizationResponseError);
      assert.equal(error.error, 'access_denied');
    });

    it('sends the app access_denied when its grant ends while the person is on the consent page', async () => {
      const page = await newPage();
      // A first sign-in grants openid; asking for email too shows consent for the existing grant.
      const first = await authorizationRequest(web, callback, { scope: 'openid' });
      await page.goto(first.url.href);
      await fillLogin(page, 'grace@example.com', PASSWORD);
      await page.getByRole('button', { name: 'Allow' }).click();
      await oidc.authorizationCodeGrant(web, await backAtCallback(page), first.checks);
      const second = await authorizationRequest(web, callback);
      await page.goto(second.url.href);
      assert.equal(await heading(page), 'Allow Web App?');
      // Meanwhile the grant reaches its end (its lifetime is the refresh token's): the
      // storage layer holds it as expired, the interaction itself is still alive.
      const payloads = platform.services.repos.payloads;
      const uid = /\/interaction\/([^/?#]+)/.exec(page.url())![1]!;
      const grantId = (await payloads.find('Interaction', uid, new Date()))!.payload.grantId as string;
      const grant = (await payloads.find('Grant', grantId, new Date()))!;
      assert.ok(await payloads.upsert('Grant', grantId, grant.payload, new Date(Date.now() - 1000)));
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(`/interaction/${uid}/consent`)),
        page.getByRole('button', { name: 'Allow' }).click(),
      ]);
      assert.equal(answer.status(), 303);
      const returned = await backAtCallback(page);
      assert.equal(returned.searchParams.get('error'), 'access_denied');
      assert.equal(returned.searchParams.get('state'), second.checks.expectedState);
      assert.equal(returned.searchParams.get('code'), null);
      const error = await rejection(oidc.authorizationCodeGrant(web, returned, second.checks), oidc.AuthorizationResponseError);
      assert.equal(error.error, 'access_denied');
      // Asking again starts over with a consent of its own, and signs the person in.
      const third = await authorizationRequest(web, callback);
      await page.goto(third.url.href);
      assert.equal(await heading(page), 'Allow Web App?');
      await page.getByRole('button', { name: 'Allow' }).click();
      const tokens = await oidc.authorizationCodeGrant(web, await backAtCallback(page), third.checks);
      assert.ok(tokens.access_token);
    });

    it('rotates refresh tokens, and a reused one revokes the whole grant', async () => {
      const { tokens } = await signInThroughBrowser(web, await newPage());
      const first = tokens.refresh_token!;
      const refreshed = await oidc.refreshTokenGrant(web, first);
      assert.ok(refreshed.access_token);
      assert.ok(refreshed.refresh_token);
      assert.notEqual(refreshed.refresh_token, first);
      assert.equal(refreshed.claims()?.sub, adaId, 'a refresh returns a verified ID token for the same person');

      const reused = await rejection(oidc.refreshTokenGrant(web, first), oidc.ResponseBodyError);
      assert.equal(reused.error, 'invalid_grant');
      assert.equal(reused.status, 400);
      // The legitimate successor is dead too, and so is what it was issued with.
      const successor = await rejection(oidc.refreshTokenGrant(web, refreshed.refresh_token!), oidc.ResponseBodyError);
      assert.equal(successor.error, 'invalid_grant');
      assert.equal((await oidc.tokenIntrospection(web, refreshed.access_token)).active, false);
      assert.equal((await oidc.tokenIntrospection(web, tokens.access_token)).active, false);
    });

    it('introspects, serves userinfo for, and revokes tokens', async () => {
      const { tokens } = await signInThroughBrowser(web, await newPage());
      const info = await oidc.tokenIntrospection(web, tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.sub, adaId);
      assert.equal(info.client_id, 'web-app');
      assert.deepEqual(info.scope?.split(' ').sort(), ['email', 'openid']);
      assert.equal(info.iss, platform.url);
      assert.ok(typeof info.exp === 'number' && info.exp > Date.now() / 1000);
      assert.equal((await oidc.tokenIntrospection(web, tokens.refresh_token!)).active, true);
      assert.equal((await oidc.tokenIntrospection(web, 'not-a-token')).active, false);

      const userinfo = await oidc.fetchUserInfo(web, tokens.access_token, adaId);
      assert.equal(userinfo.sub, adaId);
      assert.equal(userinfo.email, 'ada@example.com');
      // The subject check is the relying party's defence against a mixed-up response.
      await rejection(oidc.fetchUserInfo(web, tokens.access_token, 'usr:00000000-0000-4000-8000-000000000000'), Error);

      await oidc.tokenRevocation(web, tokens.access_token);
      assert.equal((await oidc.tokenIntrospection(web, tokens.access_token)).active, false);
      const denied = await rejection(oidc.fetchUserInfo(web, tokens.access_token, adaId), oidc.WWWAuthenticateChallengeError);
      assert.equal(denied.status, 401);
      assert.equal(denied.cause[0]?.parameters.error, 'invalid_token');

      await oidc.tokenRevocation(web, tokens.refresh_token!);
      assert.equal((await oidc.tokenIntrospection(web, tokens.refresh_token!)).active, false);
      await rejection(oidc.refreshTokenGrant(web, tokens.refresh_token!), oidc.ResponseBodyError);
    });

    it('issues client-credentials tokens to a confidential client and refuses a wrong secret', async () => {
      const tokens = await oidc.clientCredentialsGrant(service, { scope: 'inventory:read' });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.scope, 'inventory:read');
      assert.equal(tokens.refresh_token, undefined);
      assert.equal(tokens.id_token, undefined);
      const info = await oidc.tokenIntrospection(service, tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.client_id, 'inventory-service');
      assert.equal(info.sub, undefined, 'a machine token has no person behind it');

      const impostor = await discover('inventory-service', `${serviceSecret}x`);
      // RFC 6749 §5.2: a client that authenticated with HTTP Basic is answered 401 with a Basic challenge.
      const wrong = await rejection(oidc.clientCredentialsGrant(impostor, { scope: 'inventory:read' }), oidc.WWWAuthenticateChallengeError);
      assert.equal(wrong.status, 401);
      assert.equal(wrong.cause[0]?.scheme, 'basic');
      assert.equal(wrong.cause[0]?.parameters.error, 'invalid_client');
      assert.equal(((await wrong.response.json()) as { error: string }).error, 'invalid_client');

      const notAllowed = await rejection(oidc.clientCredentialsGrant(service, { scope: 'openid' }), oidc.ResponseBodyError);
      assert.equal(notAllowed.error, 'invalid_scope');
      // RFC 6749 §5.2: a grant type the client did not register is unauthorized_client.
      const noSuchGrant = await rejection(oidc.clientCredentialsGrant(web), oidc.ResponseBodyError);
      assert.equal(noSuchGrant.error, 'unauthorized_client');
    });

    it('signs out from the relying party (RP-initiated logout) and lands on the post-logout URI', async () => {
      const page = await newPage();
      const { tokens } = await signInThroughBrowser(web, page);
      const state = oidc.randomState();
      const logout = oidc.buildEndSessionUrl(web, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${app.origin}/signed-out`, state });
      await page.goto(logout.href);
      assert.equal(await heading(page), 'Sign out');
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      await screenshot(page, `${backend}-logout`);
      await page.getByRole('button', { name: 'Sign out' }).click();

      await page.waitForURL((url) => url.href.startsWith(`${app.origin}/signed-out`));
      const landed = new URL(page.url());
      assert.equal(landed.pathname, '/signed-out');
      assert.equal(landed.searchParams.get('state'), state);

      // The session is over: the next authorization asks the person to sign in again…
      await page.goto((await authorizationRequest(web, callback)).url.href);
      assert.equal(await heading(page), 'Sign in');
      // …and the tokens of the signed-out session no longer work.
      assert.equal((await oidc.tokenIntrospection(web, tokens.access_token)).active, false);
    });

    it('refuses a redirect URI that is not exactly a registered one, without redirecting', async () => {
      const page = await newPage();
      const before = app.visits.length;
      for (const redirectUri of [`${callback}/`, `${callback}?next=/admin`, `${app.origin}/CB`, callback.replace('127.0.0.1', 'localhost')]) {
        const request = await authorizationRequest(web, redirectUri);
        const response = await page.goto(request.url.href);
        assert.equal(response?.status(), 400, redirectUri);
        assert.ok(page.url().startsWith(`${platform.url}/`), `the browser stays at the provider for ${redirectUri}`);
        assert.equal(await heading(page), 'This link is not valid');
        assert.match((await page.textContent('main')) ?? '', /redirect_uri/);
      }
      assert.equal(app.visits.length, before, 'the app was never visited');
    });

    it('publishes a rotated-in key before it signs, so cached key sets keep working', async () => {
      const page = await newPage();
      const rp = await discover('web-app', webSecret);
      const { tokens: first } = await signInThroughBrowser(web, page);
      const signingKid = decodeProtectedHeader(first.id_token!).kid;

      const { kid: pendingKid } = await rotateSigningKey(platform.services.db, platform.keyring, platform.clock, {
        keepPublishedSeconds: ID_TOKEN_TTL,
        activationDelaySeconds: 600,
      });
      assert.equal(await platform.services.oauth.reloadIfChanged(), true);
      const jwks = (await (await fetch(`${platform.url}/oauth/jwks`)).json()) as JSONWebKeySet;
      assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [signingKid, pendingKid].sort());

      // The relying party discovered before the rotation still validates what is signed now.
      const request = await authorizationRequest(web, callback);
      await page.goto(request.url.href);
      const during = await oidc.authorizationCodeGrant(rp, await backAtCallback(page), request.checks);
      assert.equal(decodeProtectedHeader(during.id_token!).kid, signingKid, 'the old key signs until the new one activates');
    });

    it('keeps signing verifiable ID tokens across an immediate key rotation', async () => {
      const page = await newPage();
      const { tokens: before } = await signInThroughBrowser(web, page);
      const oldKid = decodeProtectedHeader(before.id_token!).kid;

      const { kid: newKid } = await rotateSigningKey(platform.services.db, platform.keyring, platform.clock, {
        keepPublishedSeconds: ID_TOKEN_TTL,
        activationDelaySeconds: 0,
      });
      assert.equal(await platform.services.oauth.reloadIfChanged(), true);

      const jwks = (await (await fetch(`${platform.url}/oauth/jwks`)).json()) as JSONWebKeySet;
      assert.ok(jwks.keys.some((k) => k.kid === oldKid) && jwks.keys.some((k) => k.kid === newKid));

      // Already signed in and consented: the browser goes straight back with a code.
      const request = await authorizationRequest(web, callback);
      await page.goto(request.url.href);
      // A relying party that fetches the JWKS after the rotation finds the new key in it.
      const rp = await discover('web-app', webSecret);
      const after = await oidc.authorizationCodeGrant(rp, await backAtCallback(page), request.checks);
      assert.equal(decodeProtectedHeader(after.id_token!).kid, newKid);
      assert.equal(after.claims()!.sub, adaId);

      const keys = createLocalJWKSet(jwks);
      const options = { issuer: platform.url, audience: 'web-app', algorithms: ['ES256'] };
      assert.equal((await jwtVerify(after.id_token!, keys, options)).protectedHeader.kid, newKid);
      assert.equal((await jwtVerify(before.id_token!, keys, options)).protectedHeader.kid, oldKid);
    });
  });
}
