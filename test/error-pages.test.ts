import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ManualClock } from '../src/kernel/clock.ts';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';
import { WAIT_LIMIT_SECONDS } from '../src/ui/waiting-page.ts';
import { launchBrowser, screenshot, startLoopbackApp, type LoopbackApp } from './support/browser.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * The pages a person sees when something goes wrong, in a real browser: worded (what
 * happened, never the developer's text), with a way back to the client's site when its
 * origin is registered and a neutral way out otherwise; a failed verification that says why
 * and offers a retry where one can help; a waiting page that stops reloading and can be left.
 */

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

/** Text oidc-provider or a framework writes for developers; a person never reads it. */
const DEVELOPER_TEXT = /client is invalid|Error: |redirect_uri did not match|stack|undefined/;

async function heading(page: Page): Promise<string> {
  return (await page.getByRole('heading', { level: 1 }).textContent())?.trim() ?? '';
}

async function mainText(page: Page): Promise<string> {
  return (await page.locator('main').innerText()).trim();
}

for (const backend of await backends()) {
  describe(`Hosted error pages in a browser (${backend})`, () => {
    let platform: TestPlatform;
    let app: LoopbackApp;
    const clock = new ManualClock();
    const contexts: BrowserContext[] = [];

    async function newPage(): Promise<Page> {
      const context = await browser.newContext();
      contexts.push(context);
      return context.newPage();
    }

    before(async () => {
      platform = await startPlatform(backend, { listen: true, clock });
      app = await startLoopbackApp();
      const clients = platform.services.clients;
      await clients.save({ clientId: 'web', name: 'Example Web', redirectUris: [`${app.origin}/cb`], grantTypes: ['authorization_code'], scope: 'openid' });
      await clients.save({ clientId: 'shop', name: 'Example Shop', redirectUris: [`${app.origin}/kyc`], grantTypes: ['authorization_code'], scope: 'openid' });
      await saveWebKycSettings(platform.services.repos.clients, 'shop', { enabled: true, provider: 'sandbox' });
      await platform.services.oauth.reloadIfChanged();
    });
    after(async () => {
      for (const context of contexts) await context.close();
      await app?.close();
      await platform?.close();
    });

    const authorize = (params: Record<string, string>) => `${platform.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', scope: 'openid', state: 'st', ...params })}`;
    const webKyc = (params: Record<string, string> = {}) =>
      `${platform.url}/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'shop', redirect_uri: `${app.origin}/kyc`, scope: 'kyc', state: 'st-wk', ...params })}`;

    it('an unknown client_id at /oauth/authorize: a worded page, its status kept, and a neutral way out', async () => {
      const page = await newPage();
      const response = await page.goto(authorize({ client_id: 'no-such-app', redirect_uri: `${app.origin}/cb` }));
      assert.equal(response?.status(), 400);
      assert.equal(await heading(page), 'Unknown application');
      const text = await mainText(page);
      assert.match(text, /not registered with us/);
      assert.doesNotMatch(text, DEVELOPER_TEXT);
      assert.match(text, /You can close this page and go back to the site or app that sent you here/);
      assert.equal(await page.locator('main a').count(), 0, 'no link to a site nobody registered');
      assert.match(text, /Reference for support: invalid_client/);
      await screenshot(page, `${backend}-error-unknown-client`);
    });

    it('a redirect_uri the client did not register: the page leads back to the client’s registered site, never to the URI asked for', async () => {
      const page = await newPage();
      const visits = app.visits.length;
      const response = await page.goto(authorize({ client_id: 'web', redirect_uri: `${app.origin}/elsewhere` }));
      assert.equal(response?.status(), 400);
      assert.equal(app.visits.length, visits, 'the browser stayed at the provider');
      assert.equal(await heading(page), 'This link is not valid');
      assert.equal(await page.locator('.context').innerText(), 'EXAMPLE WEB');
      assert.doesNotMatch(await mainText(page), DEVELOPER_TEXT);
      const back = page.getByRole('link', { name: 'Back to Example Web' });
      assert.equal(await back.getAttribute('href'), `${app.origin}/`);
      await back.click();
      await page.waitForURL(`${app.origin}/`);
      assert.ok(app.visits.slice(visits).some((v) => v.pathname === '/'), 'the app’s site was reached');
    });

    it('a failed verification says why and offers to try again from the operator’s site', async () => {
      const page = await newPage();
      await page.goto(webKyc({ back_url: `${app.origin}/account` }));
      const flowPath = new URL(page.url()).pathname;
      await page.getByRole('button', { name: 'Start verification' }).click();
      await page.getByLabel('A photo of a photo (liveness fails)').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      // The operator hears of it as Web KYC documents: access_denied with the reason.
      await page.waitForURL((url) => url.href.startsWith(`${app.origin}/kyc?`));
      const returned = new URL(page.url());
      assert.deepEqual([returned.searchParams.get('error'), returned.searchParams.get('error_description')], ['access_denied', 'liveness_failed']);
      // Back in the flow (the browser's Back button, a reload): the page explains, and offers the retry.
      const response = await page.goto(`${platform.url}${flowPath}/continue`);
      assert.equal(response?.status(), 200);
      assert.equal(await heading(page), 'Your identity could not be verified');
      assert.match((await page.getByRole('alert').innerText()).trim(), /did not show a live person/);
      const text = await mainText(page);
      assert.match(text, /Nothing was shared/);
      assert.doesNotMatch(text, DEVELOPER_TEXT);
      await screenshot(page, `${backend}-error-verification-failed`);
      const retry = page.getByRole('link', { name: `Try again from ${new URL(app.origin).host}` });
      await retry.click();
      await page.waitForURL(`${app.origin}/account`);
    });

    it('offers a retry only where trying again can change the outcome', async () => {
      const { retryCanHelp } = await import('../src/verification/retry.ts');
      assert.equal(retryCanHelp(['document_expired']), false);
      assert.equal(retryCanHelp(['provider_declined']), false);
      assert.equal(retryCanHelp(['document_unreadable']), true);
    });

    it('the waiting page reloads itself for a while, then stops and offers to check again, and can be left', async () => {
      const page = await newPage();
      await page.goto(webKyc());
      const flowPath = new URL(page.url()).pathname;
      assert.match(flowPath, /^\/web-kyc\/flows\/[0-9a-f-]{36}$/);
      await page.getByRole('button', { name: 'Start verification' }).click();
      // Back from the verification before its result: the waiting page.
      await page.goto(`${platform.url}${flowPath}/continue`);
      assert.equal(await heading(page), 'Checking your document…');
      assert.equal(await page.locator('meta[http-equiv="refresh"]').getAttribute('content'), '2');
      // It looks again by itself…
      await page.waitForEvent('load', { timeout: 10_000 });
      assert.equal(await heading(page), 'Checking your document…');
      // …until the result has been awaited too long: then it stops and says so.
      clock.advance((WAIT_LIMIT_SECONDS + 1) * 1000);
      await page.waitForEvent('load', { timeout: 10_000 });
      assert.equal(await heading(page), 'This is taking longer than usual');
      assert.equal(await page.locator('meta[http-equiv="refresh"]').count(), 0);
      const reloaded = page.waitForEvent('load', { timeout: 4_000 }).then(
        () => true,
        () => false,
      );
      assert.equal(await reloaded, false, 'no reload after the limit');
      await screenshot(page, `${backend}-waiting-stopped`);
      // Checking again by hand shows the same answer while nothing came in.
      await page.getByRole('link', { name: 'Check again' }).click();
      assert.equal(await heading(page), 'This is taking longer than usual');
      // The way out: stop, and the operator hears that the person cancelled.
      await page.getByRole('button', { name: 'Stop and return to Example Shop' }).click();
      await page.waitForURL((url) => url.href.startsWith(`${app.origin}/kyc?`));
      const returned = new URL(page.url());
      assert.deepEqual(
        [returned.searchParams.get('error'), returned.searchParams.get('error_description'), returned.searchParams.get('state')],
        ['access_denied', 'cancelled_by_person', 'st-wk'],
      );
    });
  });
}

