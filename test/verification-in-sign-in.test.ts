import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot, startLoopbackApp, type LoopbackApp } from './support/browser.ts';
import { PASSWORD, user } from './support/fixtures.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * Verified identity for a signed-in person, through a real relying party (openid-client)
 * and the hosted pages in Chromium: a client that asks for verified claims the person does
 * not hold gets a verification step inside the authorization flow (sandbox provider), the
 * result lands in the person's wallet, and the client gets the claims. Also the Identity
 * Assurance request forms the step relies on: `max_age` on document dates and the array
 * form of `verified_claims`.
 */

const YEAR = 365 * 86400;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

for (const backend of await backends()) {
  describe(`verification inside sign-in (${backend})`, () => {
    let platform: TestPlatform;
    let app: LoopbackApp;
    let callback: string;
    let stepRp: oidc.Configuration;
    let plainKycRp: oidc.Configuration;
    const contexts: BrowserContext[] = [];

    const discover = (clientId: string, secret: string) =>
      oidc.discovery(new URL(platform.url), clientId, { id_token_signed_response_alg: 'ES256' }, oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] });

    async function newPage(): Promise<Page> {
      const context = await browser.newContext();
      contexts.push(context);
      return context.newPage();
    }

    /** The sandbox's hosted steps, with its test images: a live face (or not) and the valid passport. */
    async function sandbox(page: Page, outcome: 'pass' | 'liveness_fails') {
      await page.waitForURL((u) => u.pathname.startsWith('/verification/sandbox/'));
      if (outcome === 'liveness_fails') {
        await page.getByLabel('A photo of a photo (liveness fails)').check();
        await page.getByRole('button', { name: 'Continue' }).click();
        return;
      }
      await page.getByLabel('A live face (passes)').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel('Passport, front (readable)').check();
      await page.getByLabel('Valid passport (verified)').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: 'Compare and finish' }).click();
    }

    /**
     * The authorization code flow in the browser, page by page: each page's heading is
     * recorded, `onVerify` handles the verification step; then the code, tokens and userinfo.
     */
    async function authorize(
      page: Page,
      config: oidc.Configuration,
      params: { scope: string; claims?: unknown },
      username: string,
      onVerify: (page: Page, attempt: number) => Promise<void> = (p) => sandbox(p, 'pass'),
    ) {
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
      const headings: string[] = [];
      let verifications = 0;
      await page.goto(url.href);
      for (let step = 0; step < 8 && !page.url().startsWith(`${callback}?`); step++) {
        const heading = (await page.getByRole('heading', { level: 1 }).textContent())?.trim() ?? '';
        headings.push(heading);
        if (heading === 'Sign in') {
          await page.getByLabel('Email or phone number').fill(username);
          await page.getByLabel('Password').fill(PASSWORD);
          await page.getByRole('button', { name: 'Sign in' }).click();
        } else if (heading === 'Verify your identity') {
          await page.getByRole('button', { name: 'Verify my identity' }).click();
          await onVerify(page, verifications++);
        } else if (heading === 'Your identity could not be verified') {
          await page.getByRole('button', { name: 'Try again' }).click();
          await onVerify(page, verifications++);
        } else if (heading.startsWith('Allow')) {
          await page.getByRole('button', { name: 'Allow' }).click();
        } else {
          assert.fail(`unexpected page "${heading}" at ${page.url()}`);
        }
        await page.waitForURL((u) => !u.pathname.startsWith('/verification/'));
        await page.waitForLoadState();
      }
      await page.waitForURL((u) => u.href.startsWith(`${callback}?`));
      const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier, expectedState, expectedNonce });
      const idToken = tokens.claims()!;
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
      return { headings, idToken, userinfo };
    }

    before(async () => {
      platform = await startPlatform(backend, { listen: true });
      app = await startLoopbackApp();
      callback = `${app.origin}/cb`;
      for (const email of ['mia@example.com', 'noor@example.com', 'omar@example.com']) await user(platform, email);
      const { clients } = platform.services;
      const step = await clients.save({ clientId: 'bank', name: 'Bank', redirectUris: [callback], grantTypes: ['authorization_code'], scope: 'openid kyc', verificationStep: true });
      const plain = await clients.save({ clientId: 'broker', name: 'Broker', redirectUris: [callback], grantTypes: ['authorization_code'], scope: 'openid kyc' });
      await platform.services.oauth.reloadIfChanged();
      [stepRp, plainKycRp] = await Promise.all([discover('bank', step.secret!), discover('broker', plain.secret!)]);
    });
    after(async () => {
      await Promise.all(contexts.map((c) => c.close()));
      await app?.close();
      await platform?.close();
    });

    it('sends a person without verified claims through a verification before consent; a failed attempt can be retried; the claims reach the client', async () => {
      const page = await newPage();
      const claims = { id_token: { verified_claims: { verification: { trust_framework: null }, claims: { given_name: null, family_name: null } } } };
      const { headings, idToken, userinfo } = await authorize(page, stepRp, { scope: 'openid kyc', claims }, 'mia@example.com', async (p, attempt) => {
        if (attempt === 0) {
          await sandbox(p, 'liveness_fails');
          await p.waitForURL((u) => u.pathname.endsWith('/verification') && u.pathname.startsWith('/interaction/'));
          // The person is told why, in words, and offered another go.
          assert.match((await p.textContent('[role=alert]')) ?? '', /did not show a live person/);
          await screenshot(p, `${backend}-sign-in-verification-failed`);
        } else {
          await sandbox(p, 'pass');
        }
      });
      assert.deepEqual(headings, ['Sign in', 'Verify your identity', 'Your identity could not be verified', 'Allow Bank?']);
      assert.deepEqual(idToken.verified_claims, { verification: { trust_framework: 'idflow_sandbox' }, claims: { given_name: 'Anna Maria', family_name: 'Eriksson' } });
      const verified = userinfo.verified_claims as { verification: Record<string, any>; claims: Record<string, unknown> };
      assert.deepEqual(verified.claims, { given_name: 'Anna Maria', family_name: 'Eriksson', birthdate: '1974-08-12', nationalities: ['UTO'] });
      assert.equal(verified.verification.trust_framework, 'idflow_sandbox');
      assert.equal(verified.verification.evidence[0].document_details.document_number, 'L898902C3');

      // The result is the person's: in their wallet, with its evidence, for any later client.
      const mia = (await platform.services.repos.users.findByEmail('mia@example.com'))!;
      const wallet = await platform.services.wallet.valid(mia.id);
      assert.deepEqual(wallet.map((c) => c.type).sort(), ['birthDate', 'documentNumber', 'fullName', 'nationality']);
      assert.ok(wallet.every((c) => c.verificationId === verified.verification.verification_process && c.evidence?.trust_framework === 'idflow_sandbox'));
    });

    it('asks nothing more of a person whose wallet already meets the request', async () => {
      // Mia verified in the first test; a new browser signs in again.
      const page = await newPage();
      const { headings, userinfo } = await authorize(page, stepRp, { scope: 'openid kyc' }, 'mia@example.com', () => assert.fail('no verification step expected'));
      assert.ok(!headings.includes('Verify your identity'));
      assert.equal((userinfo.verified_claims as { claims: Record<string, unknown> }).claims.family_name, 'Eriksson');
    });

    it('a client without the step gets no verified_claims for a person who has none, and no step', async () => {
      const page = await newPage();
      const { headings, userinfo } = await authorize(page, plainKycRp, { scope: 'openid kyc' }, 'omar@example.com', () => assert.fail('no verification step expected'));
      assert.deepEqual(headings, ['Sign in', 'Allow Broker?']);
      assert.equal(userinfo.verified_claims, undefined);
    });

    it('answers prompt=none with interaction_required when the step would be needed', async () => {
      // Omar holds no verified claims; signing in to another client gives this browser a session.
      const page = await newPage();
      await authorize(page, plainKycRp, { scope: 'openid' }, 'omar@example.com', () => assert.fail('no verification step expected'));
      const url = oidc.buildAuthorizationUrl(stepRp, {
        redirect_uri: callback,
        scope: 'openid kyc',
        state: 'silent',
        prompt: 'none',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      await page.goto(url.href);
      await page.waitForURL((u) => u.href.startsWith(`${callback}?`));
      const answer = new URL(page.url()).searchParams;
      assert.equal(answer.get('error'), 'interaction_required');
      assert.equal(answer.get('state'), 'silent');
    });

    it('honours max_age on document dates (date_of_issuance), and one verification per authorization ends the step', async () => {
      // The sandbox's valid passport was issued five years ago.
      const issuedWithin = (seconds: number) => ({
        userinfo: {
          verified_claims: {
            verification: { trust_framework: null, evidence: [{ type: { value: 'document' }, document_details: { date_of_issuance: { max_age: seconds } } }] },
            claims: { given_name: null },
          },
        },
      });
      const page = await newPage();
      const recent = await authorize(page, stepRp, { scope: 'openid', claims: issuedWithin(YEAR) }, 'noor@example.com');
      // No passport issued within a year: one verification, then on to consent without the claims.
      assert.deepEqual(recent.headings, ['Sign in', 'Verify your identity', 'Allow Bank?']);
      assert.equal(recent.userinfo.verified_claims, undefined);

      const decade = await authorize(page, plainKycRp, { scope: 'openid', claims: issuedWithin(10 * YEAR) }, 'noor@example.com');
      const entry = decade.userinfo.verified_claims as { verification: Record<string, any>; claims: Record<string, unknown> };
      assert.deepEqual(entry.claims, { given_name: 'Anna Maria' });
      const [evidence] = entry.verification.evidence as { type: string; document_details: { date_of_issuance: string } }[];
      assert.equal(evidence!.type, 'document');
      assert.match(evidence!.document_details.date_of_issuance, /^\d{4}-\d{2}-01$/);
      assert.ok(Date.now() - Date.parse(evidence!.document_details.date_of_issuance) > 4 * YEAR * 1000);

      // max_age on the verification's own time, within the same request: verified minutes ago.
      const fresh = await authorize(page, plainKycRp, {
        scope: 'openid',
        claims: { userinfo: { verified_claims: { verification: { trust_framework: null, time: { max_age: 3600 } }, claims: { family_name: null } } } },
      }, 'noor@example.com');
      assert.deepEqual((fresh.userinfo.verified_claims as { claims: unknown }).claims, { family_name: 'Eriksson' });
    });

    it('accepts the array form of verified_claims: each request object is answered on its own', async () => {
      const page = await newPage();
      const { idToken, userinfo } = await authorize(
        page,
        plainKycRp,
        {
          scope: 'openid',
          claims: {
            userinfo: {
              verified_claims: [
                { verification: { trust_framework: { value: 'eidas' } }, claims: { given_name: null } },
                { verification: { trust_framework: null }, claims: { birthdate: null } },
                { verification: { trust_framework: null, time: null }, claims: { family_name: { purpose: 'To address you by your name' } } },
              ],
            },
            id_token: { verified_claims: [{ verification: { trust_framework: { values: ['idflow_sandbox'] } }, claims: { given_name: null } }] },
          },
        },
        'mia@example.com',
      );
      const entries = userinfo.verified_claims as { verification: Record<string, unknown>; claims: Record<string, unknown> }[];
      assert.ok(Array.isArray(entries));
      assert.deepEqual(entries.map((e) => e.claims), [{ birthdate: '1974-08-12' }, { family_name: 'Eriksson' }]);
      assert.deepEqual(entries[0]!.verification, { trust_framework: 'idflow_sandbox' });
      assert.deepEqual(Object.keys(entries[1]!.verification), ['trust_framework', 'time']);
      assert.deepEqual(idToken.verified_claims, { verification: { trust_framework: 'idflow_sandbox' }, claims: { given_name: 'Anna Maria' } });
    });

    it('refuses an empty array and an array item that is no request object (invalid_request)', async () => {
      for (const verifiedClaims of [[], [null], [{ verification: { trust_framework: null }, claims: {} }]]) {
        const url = oidc.buildAuthorizationUrl(plainKycRp, {
          redirect_uri: callback,
          scope: 'openid',
          state: 's',
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
          claims: JSON.stringify({ userinfo: { verified_claims: verifiedClaims } }),
        });
        const answer = await fetch(url, { redirect: 'manual' });
        const location = new URL(answer.headers.get('location')!);
        assert.equal(`${location.origin}${location.pathname}`, callback);
        assert.equal(location.searchParams.get('error'), 'invalid_request', JSON.stringify(verifiedClaims));
      }
    });
  });
}
