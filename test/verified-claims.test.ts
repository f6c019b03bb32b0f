import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot, startLoopbackApp, type LoopbackApp } from './support/browser.ts';
import { PASSWORD, user } from './support/fixtures.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * OpenID Connect for Identity Assurance through a real relying party (openid-client) and the
 * hosted login in Chromium: `verified_claims` in userinfo and the ID token, filtered as the
 * request asks, from the person's wallet.
 */

const DAY = 86_400_000;

/** The Identity Assurance element the verification engine stores with document credentials. */
function assurance(time: Date, documentNumber: string) {
  const at = time.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    trust_framework: 'idflow_sandbox',
    time: at,
    verification_process: randomUUID(),
    evidence: [
      {
        type: 'document',
        method: 'uripp',
        time: at,
        document_details: { type: 'passport', document_number: documentNumber, date_of_expiry: '2031-01-30', issuer: { country_code: 'DEU' } },
        check_details: [{ check_method: 'vri', organization: 'idflow', time: at }],
      },
    ],
  };
}

async function documentCredentials(platform: TestPlatform, userId: string, verifiedAt: Date, person: { first: string; last: string; birth: string; documentNumber: string }) {
  const evidence = assurance(verifiedAt, person.documentNumber);
  const base = { verificationMethod: 'document', verificationId: evidence.verification_process, evidence };
  await platform.services.wallet.add(userId, [
    { type: 'fullName', value: { firstName: person.first, lastName: person.last }, ...base },
    { type: 'birthDate', value: person.birth, ...base },
    { type: 'documentNumber', value: person.documentNumber, ...base },
    { type: 'nationality', value: 'DEU', ...base },
    // Not verified by a document: never inside verified_claims.
    { type: 'birthDate', value: '1901-01-01', verificationMethod: 'self_attested' },
  ]);
  return evidence;
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

for (const backend of await backends()) {
  describe(`verified_claims through openid-client (${backend})`, () => {
    let platform: TestPlatform;
    let app: LoopbackApp;
    let callback: string;
    let rp: oidc.Configuration;
    let plainRp: oidc.Configuration;
    const contexts: BrowserContext[] = [];
    let adaEvidence: ReturnType<typeof assurance>;

    const discover = (clientId: string, secret: string) =>
      oidc.discovery(new URL(platform.url), clientId, { id_token_signed_response_alg: 'ES256' }, oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] });

    async function newPage(): Promise<Page> {
      const context = await browser.newContext();
      contexts.push(context);
      return context.newPage();
    }

    /** The whole authorization code flow in the browser: sign in (if needed), allow, back at the app; then tokens and userinfo. */
    async function signIn(page: Page, config: oidc.Configuration, params: { scope: string; claims?: unknown }, username: string, name: string) {
      const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
      const expectedState = oidc.randomState();
      const expectedNonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: callback,
        scope: params.scope,
        state: expectedState,
        nonce: expectedNonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier),
        code_challenge_method: 'S256',
        ...(params.claims ? { claims: JSON.stringify(params.claims) } : {}),
      });
      await page.goto(url.href);
      for (let step = 0; step < 3 && !page.url().startsWith(`${callback}?`); step++) {
        const heading = (await page.getByRole('heading', { level: 1 }).textContent())?.trim() ?? '';
        if (heading === 'Sign in') {
          await page.getByLabel('Email or phone number').fill(username);
          await page.getByLabel('Password').fill(PASSWORD);
          await page.getByRole('button', { name: 'Sign in' }).click();
        } else if (heading.startsWith('Allow')) {
          await screenshot(page, `${backend}-verified-claims-${name}-consent`);
          if (params.claims && JSON.stringify(params.claims).includes('verified_claims')) {
            // The person sees that their verified identity is asked for, however it was asked.
            assert.match((await page.textContent('main')) ?? '', /verified identity/);
          }
          await page.getByRole('button', { name: 'Allow' }).click();
        }
        await page.waitForLoadState();
      }
      await page.waitForURL((u) => u.href.startsWith(`${callback}?`));
      const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier, expectedState, expectedNonce });
      const idToken = tokens.claims()!;
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
      return { idToken, userinfo };
    }

    /** The authorization endpoint's answer to a request the browser never gets past (an error for the client). */
    async function authorizationError(config: oidc.Configuration, claims: unknown, scope = 'openid'): Promise<{ error: string | null; description: string | null }> {
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: callback, scope, state: 's', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256', claims: JSON.stringify(claims) });
      const answer = await fetch(url, { redirect: 'manual' });
      const location = new URL(answer.headers.get('location')!);
      assert.equal(`${location.origin}${location.pathname}`, callback);
      return { error: location.searchParams.get('error'), description: location.searchParams.get('error_description') };
    }

    before(async () => {
      platform = await startPlatform(backend, { listen: true });
      app = await startLoopbackApp();
      callback = `${app.origin}/cb`;
      const ada = await user(platform, 'ada@example.com');
      await user(platform, 'grace@example.com');
      await user(platform, 'nobody@example.com');
      adaEvidence = await documentCredentials(platform, ada.id, new Date(Date.now() - 400 * DAY), { first: 'Anna Maria', last: 'Schmidt', birth: '1987-01-12', documentNumber: 'C01X00T47' });
      const { clients } = platform.services;
      const kyc = await clients.save({ clientId: 'kyc-rp', name: 'Bank', redirectUris: [callback], grantTypes: ['authorization_code'], scope: 'openid email kyc' });
      const plain = await clients.save({ clientId: 'plain-rp', name: 'Shop', redirectUris: [callback], grantTypes: ['authorization_code'], scope: 'openid email' });
      await platform.services.oauth.reloadIfChanged();
      [rp, plainRp] = await Promise.all([discover('kyc-rp', kyc.secret!), discover('plain-rp', plain.secret!)]);
    });
    after(async () => {
      await Promise.all(contexts.map((c) => c.close()));
      await app?.close();
      await platform?.close();
    });

    it('advertises Identity Assurance in discovery', () => {
      const meta = rp.serverMetadata() as Record<string, unknown>;
      assert.equal(meta.verified_claims_supported, true);
      assert.equal(meta.claims_parameter_supported, true);
      assert.deepEqual(meta.trust_frameworks_supported, ['idflow_sandbox']);
      assert.deepEqual(meta.evidence_supported, ['document']);
      assert.deepEqual(meta.documents_supported, ['passport', 'idcard', 'driving_permit', 'residence_permit']);
      assert.deepEqual(meta.claims_in_verified_claims_supported, ['given_name', 'middle_name', 'family_name', 'birthdate', 'nationalities', 'address']);
      assert.ok((meta.scopes_supported as string[]).includes('kyc'));
      assert.ok((meta.claims_supported as string[]).includes('verified_claims'));
    });

    it('scope kyc: userinfo carries every verified claim with its verification; the ID token only what the claims parameter asks', async () => {
      const page = await newPage();
      const { idToken, userinfo } = await signIn(page, rp, { scope: 'openid kyc' }, 'ada@example.com', 'scope');
      assert.deepEqual(userinfo.verified_claims, {
        verification: adaEvidence,
        claims: { given_name: 'Anna Maria', family_name: 'Schmidt', birthdate: '1987-01-12', nationalities: ['DEU'] },
      });
      assert.equal(idToken.verified_claims, undefined);
      for (const claims of [userinfo, idToken]) {
        assert.equal((claims as Record<string, unknown>).given_name, undefined, 'verified claims never appear at the top level');
        assert.equal((claims as Record<string, unknown>).birthdate, undefined);
      }
    });

    it('the claims parameter returns only the requested claims and verification elements, in the ID token and in userinfo', async () => {
      const page = await newPage();
      const { idToken, userinfo } = await signIn(
        page,
        rp,
        {
          scope: 'openid',
          claims: {
            id_token: {
              verified_claims: {
                verification: { trust_framework: null, evidence: [{ type: { value: 'document' }, document_details: { type: null } }] },
                claims: { given_name: null, family_name: { purpose: 'To address you by your name' } },
              },
            },
            userinfo: { verified_claims: { verification: { trust_framework: { value: 'idflow_sandbox' }, time: null }, claims: { birthdate: null, place_of_birth: null } } },
          },
        },
        'ada@example.com',
        'claims',
      );
      assert.deepEqual(idToken.verified_claims, {
        verification: { trust_framework: 'idflow_sandbox', evidence: [{ type: 'document', document_details: { type: 'passport' } }] },
        claims: { given_name: 'Anna Maria', family_name: 'Schmidt' },
      });
      assert.deepEqual(userinfo.verified_claims, {
        verification: { trust_framework: 'idflow_sandbox', time: adaEvidence.time },
        claims: { birthdate: '1987-01-12' },
      });
    });

    it('leaves verified_claims out when a constraint is not met (trust_framework value, max_age on time)', async () => {
      const page = await newPage();
      const unmet = await signIn(
        page,
        rp,
        {
          scope: 'openid',
          claims: {
            id_token: { verified_claims: { verification: { trust_framework: { value: 'eidas' } }, claims: { given_name: null } } },
            userinfo: { verified_claims: { verification: { trust_framework: { values: ['de_aml', 'eidas'] } }, claims: { given_name: null } } },
          },
        },
        'ada@example.com',
        'unmet',
      );
      assert.equal(unmet.idToken.verified_claims, undefined);
      assert.equal(unmet.userinfo.verified_claims, undefined);

      // Ada verified 400 days ago: too old for a year, fine for two.
      const aged = await signIn(
        page,
        rp,
        {
          scope: 'openid',
          claims: {
            id_token: { verified_claims: { verification: { trust_framework: null, time: { max_age: 365 * 86400 } }, claims: { given_name: null } } },
            userinfo: { verified_claims: { verification: { trust_framework: { values: ['eidas', 'idflow_sandbox'] }, time: { max_age: 2 * 365 * 86400 } }, claims: { given_name: null } } },
          },
        },
        'ada@example.com',
        'max-age',
      );
      assert.equal(aged.idToken.verified_claims, undefined);
      assert.deepEqual(aged.userinfo.verified_claims, { verification: { trust_framework: 'idflow_sandbox', time: adaEvidence.time }, claims: { given_name: 'Anna Maria' } });
    });

    it('returns nothing for a person with no document-verified credentials', async () => {
      const page = await newPage();
      const { userinfo } = await signIn(page, rp, { scope: 'openid kyc' }, 'nobody@example.com', 'nobody');
      assert.equal(userinfo.verified_claims, undefined);
    });

    it('refuses malformed verified_claims requests at the authorization endpoint (invalid_request)', async () => {
      const claims = (extra: Record<string, unknown>) => ({ userinfo: { verified_claims: { verification: { trust_framework: null }, claims: { given_name: null }, ...extra } } });
      const tooShort = await authorizationError(rp, { userinfo: { verified_claims: { verification: { trust_framework: null }, claims: { given_name: { purpose: 'no' } } } } });
      assert.equal(tooShort.error, 'invalid_request');
      assert.match(tooShort.description ?? '', /purpose must be a string of 3 to 300 characters/);
      const tooLong = await authorizationError(rp, { userinfo: { verified_claims: { verification: { trust_framework: null }, claims: { given_name: { purpose: 'x'.repeat(301) } } } } });
      assert.equal(tooLong.error, 'invalid_request');
      assert.equal((await authorizationError(rp, claims({ claims: {} }))).error, 'invalid_request', 'claims must not be empty');
      assert.equal((await authorizationError(rp, { userinfo: { verified_claims: { claims: { given_name: null } } } })).error, 'invalid_request', 'verification is required');
      assert.equal((await authorizationError(rp, { id_token: { verified_claims: { verification: { trust_framework: null, time: { max_age: 'soon' } }, claims: { given_name: null } } } })).error, 'invalid_request');
      const notKyc = await authorizationError(plainRp, claims({}));
      assert.equal(notKyc.error, 'invalid_request');
      assert.match(notKyc.description ?? '', /may not request verified_claims/);
    });

    it('returns what a real sandbox verification put into the wallet', async () => {
      const graceId = (await platform.services.repos.users.findByEmail('grace@example.com'))!.id;
      const { verification, next } = await platform.services.verification.start({ provider: 'sandbox', userId: graceId, returnTo: '/' });
      const base = `${platform.url}${next}`;
      const page = await newPage();
      await page.goto(base);
      await page.getByLabel('A live face (passes)').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel('Passport, front (readable)').check();
      await page.getByLabel('Valid passport (verified)').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: 'Compare and finish' }).click();
      await page.waitForURL((u) => u.pathname === '/');
      const settled = await platform.services.verification.get(verification.id);
      assert.equal(settled?.state, 'verified');

      const { userinfo } = await signIn(page, rp, { scope: 'openid kyc' }, 'grace@example.com', 'sandbox');
      const verified = userinfo.verified_claims as { verification: Record<string, any>; claims: Record<string, unknown> };
      assert.deepEqual(verified.claims, { given_name: 'Anna Maria', family_name: 'Eriksson', birthdate: '1974-08-12', nationalities: ['UTO'] });
      assert.equal(verified.verification.trust_framework, 'idflow_sandbox');
      assert.equal(verified.verification.verification_process, verification.id);
      const [evidence] = verified.verification.evidence as Record<string, any>[];
      assert.equal(evidence!.type, 'document');
      assert.equal(evidence!.document_details.type, 'passport');
      assert.equal(evidence!.document_details.document_number, 'L898902C3');
      assert.ok((evidence!.check_details as { check_method: string }[]).some((c) => c.check_method === 'pvr'), 'the liveness check is part of the evidence');
    });
  });
}
