import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { ManualClock } from '../src/kernel/clock.ts';
import { applyImport } from '../src/provisioning/import-file.ts';
import { purgeWebKyc } from '../src/kyc/index.ts';
import { checkAuthorizeRequest } from '../src/kyc/web-kyc-request.ts';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';
import { authenteqDetailsJson, toAuthenteqDetails } from '../src/compat/authenteq-webkyc/details.ts';
import { normaliseImage } from '../src/verification/documents/index.ts';
import { imageLimits } from '../src/verification/registry.ts';
import { testImage } from '../src/verification/providers/sandbox/test-images.ts';
import { launchBrowser, screenshot, startLoopbackApp, type LoopbackApp } from './support/browser.ts';
import { healthWhile } from './support/http.ts';
import { buildMrz, dateFrom, type MrzSpec } from './support/mrz-fixtures.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * Authenteq-compatible Web KYC: the operator's redirect, the sandbox verification in a real
 * browser, the code, the token, the details; and every rule around them (single use,
 * client secret, redirect URI, state, scope, lifetimes, purge).
 */

const CLIENT_ID = 'shop.example';
const FLOW_PAGE = /^\/web-kyc\/flows\/([0-9a-f-]{36})$/;
const JPEG = Buffer.from([0xff, 0xd8, 0xff]);
/** A second registered redirect URI: its origin is one a `back_url` may lead to. */
const SHOP_REDIRECT_URI = 'https://shop.example.com/kyc/result';

interface Client {
  secret: string;
  redirectUri: string;
}

/** A confidential client registered for Web KYC, redirecting to `redirectUri` (and to the shop's own site). */
async function kycClient(platform: TestPlatform, redirectUri: string, clientId = CLIENT_ID, webKyc = true): Promise<Client> {
  const { secret } = await platform.services.clients.save({ clientId, name: 'Example Shop', redirectUris: [redirectUri, SHOP_REDIRECT_URI], grantTypes: ['authorization_code'], scope: 'openid' });
  if (webKyc) await saveWebKycSettings(platform.services.repos.clients, clientId, { enabled: true, provider: 'sandbox' });
  return { secret: secret!, redirectUri };
}

function authorizeUrl(platform: TestPlatform, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  return `${platform.url}/authorize?${query}`;
}

const get = (url: string, cookie?: string) => fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
const postForm = (url: string, form: Record<string, string>, cookie?: string) =>
  fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) }, body: new URLSearchParams(form) });
const postMultipart = (url: string, form: FormData) => fetch(url, { method: 'POST', redirect: 'manual', body: form });

function csrfOf(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  assert.ok(match, 'the page has a form token');
  return match[1]!;
}

function location(response: Response): string {
  assert.equal(response.status, 303, `expected a redirect, got ${response.status}`);
  return response.headers.get('location')!;
}

/** The operator's redirect, then the person presses Start: returns the flow, its browser cookie and the verification. */
async function startVerification(platform: TestPlatform, client: Client, extra: Record<string, string> = {}) {
  const answer = await get(authorizeUrl(platform, { response_type: 'code', client_id: CLIENT_ID, redirect_uri: client.redirectUri, scope: 'kyc', state: 'st-123', ...extra }));
  const intro = location(answer);
  const flowId = FLOW_PAGE.exec(intro)?.[1];
  assert.ok(flowId, `redirected to the introduction, got ${intro}`);
  const cookie = answer.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await get(`${platform.url}${intro}`, cookie)).text();
  const started = await postForm(`${platform.url}${intro}/start`, { csrf: csrfOf(page) }, cookie);
  const sandbox = location(started);
  const verificationId = /^\/verification\/sandbox\/([0-9a-f-]{36})$/.exec(sandbox)?.[1];
  assert.ok(verificationId, `sent to the sandbox, got ${sandbox}`);
  return { flowId, cookie, verificationId, introPath: intro };
}

/** The sandbox's three steps through HTTP, with its documented test inputs; returns where the last step sends the browser. */
async function sandboxSteps(platform: TestPlatform, verificationId: string, inputs: { face?: string; sample?: string } = {}): Promise<string> {
  const base = `${platform.url}/verification/sandbox/${verificationId}`;
  const csrf = csrfOf(await (await get(`${base}/liveness`)).text());
  const liveness = new FormData();
  liveness.set('csrf', csrf);
  liveness.set('testImage', inputs.face ?? 'selfie');
  let next = location(await postMultipart(`${base}/liveness`, liveness));
  if (!next.endsWith('/document')) return next;
  const document = new FormData();
  document.set('csrf', csrf);
  document.set('testImages', 'document-front');
  document.set('sample', inputs.sample ?? 'valid');
  next = location(await postMultipart(`${base}/document`, document));
  if (!next.endsWith('/face-match')) return next;
  return location(await postForm(`${base}/face-match`, { csrf }));
}

/** A person verified all the way: returns the code the operator receives. */
async function verifiedCode(platform: TestPlatform, client: Client) {
  const flow = await startVerification(platform, client);
  const back = await sandboxSteps(platform, flow.verificationId);
  assert.equal(back, `/web-kyc/flows/${flow.flowId}/continue`);
  const redirect = new URL(location(await get(`${platform.url}${back}`, flow.cookie)));
  assert.equal(`${redirect.origin}${redirect.pathname}`, client.redirectUri);
  assert.equal(redirect.searchParams.get('state'), 'st-123');
  const code = redirect.searchParams.get('code');
  assert.match(code ?? '', /^[0-9a-f]{64}$/, 'an alphanumeric code');
  return { ...flow, code: code! };
}

async function exchange(platform: TestPlatform, client: Client, code: string, overrides: Record<string, string> = {}) {
  const response = await fetch(`${platform.url}/v2/web-kyc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grantType: 'authorization_code', code, redirectUri: client.redirectUri, clientId: CLIENT_ID, clientSecret: client.secret, ...overrides }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

async function details(platform: TestPlatform, token: string | undefined) {
  const response = await fetch(`${platform.url}/v2/web-kyc/details`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

async function count(platform: TestPlatform, sql: string, params: unknown[]): Promise<number> {
  const [row] = await platform.services.db.query<{ n: number }>(`select count(*)::int as n from ${sql}`, params);
  return row!.n;
}

/** Both images decoded by the browser; the mean per-channel difference of their pixels (alpha over white). */
async function compareImages(page: Page, jpeg: Buffer, reference: Buffer) {
  return page.evaluate(
    async ([jpegData, referenceData]) => {
      const load = (src: string) =>
        new Promise<HTMLImageElement>((resolve, reject) => {
          const image = new Image();
          image.onload = () => resolve(image);
          image.onerror = () => reject(new Error('the image does not decode'));
          image.src = src;
        });
      const pixels = (image: HTMLImageElement) => {
        const canvas = document.createElement('canvas');
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        const context = canvas.getContext('2d')!;
        context.fillStyle = '#fff';
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(image, 0, 0);
        return context.getImageData(0, 0, canvas.width, canvas.height).data;
      };
      const [a, b] = await Promise.all([load(`data:image/jpeg;base64,${jpegData}`), load(`data:image/png;base64,${referenceData}`)]);
      const pa = pixels(a);
      const pb = pixels(b);
      let sum = 0;
      for (let i = 0; i < pa.length; i++) if (i % 4 !== 3) sum += Math.abs(pa[i]! - pb[i]!);
      return { width: a.naturalWidth, height: a.naturalHeight, meanDifference: sum / ((pa.length / 4) * 3) };
    },
    [jpeg.toString('base64'), reference.toString('base64')] as const,
  );
}

describe('Web KYC from the command line', () => {
  it('creates a client with --web-kyc and purges due Web KYC data with idflow purge', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'idflow-web-kyc-cli-'));
    const idflow = (args: string[]) =>
      promisify(execFile)(process.execPath, [fileURLToPath(new URL('../bin/idflow.mjs', import.meta.url)), ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', IDFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
      });
    try {
      const created = await idflow(['client', 'create', '--name', 'CLI Shop', '--client-id', 'cli-shop', '--redirect-uri', 'https://shop.example.com/kyc', '--web-kyc', '--json']);
      const client = JSON.parse(created.stdout) as Record<string, any>;
      assert.deepEqual(client.web_kyc, { enabled: true, provider: 'sandbox' });
      assert.equal(typeof client.client_secret, 'string');
      const purged = await idflow(['purge']);
      assert.match(purged.stdout, /deleted 0 finished Web KYC hand-overs/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

for (const backend of await backends()) {
  describe(`Web KYC, Authenteq-compatible (${backend})`, () => {
    let platform: TestPlatform;
    let app: LoopbackApp;
    let client: Client;
    const contexts: BrowserContext[] = [];

    before(async () => {
      // Every test here starts verifications from the same loopback address; the start
      // limits have their own tests (test/limits.test.ts).
      platform = await startPlatform(backend, { listen: true, env: { IDFLOW_VERIFICATION_STARTS_PER_IP_PER_HOUR: '1000' } });
      app = await startLoopbackApp();
      client = await kycClient(platform, `${app.origin}/kyc/result`);
    });
    after(async () => {
      await Promise.all(contexts.map((c) => c.close()));
      await app?.close();
      await platform?.close();
    });

    it('verifies a person end to end in a browser: authorize → sandbox steps → code and state → token → details', async () => {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const clock = platform.clock;
      const passport: MrzSpec = {
        format: 'TD3',
        issuingState: 'DEU',
        nationality: 'DEU',
        surname: 'Schmidt',
        givenNames: 'Anna Maria',
        documentNumber: 'C01X00T47',
        dateOfBirth: '1987-01-12',
        sex: 'F',
        dateOfExpiry: dateFrom(clock, { years: 5 }),
      };
      const dateOfIssue = dateFrom(clock, { years: -5 });

      await page.goto(authorizeUrl(platform, { response_type: 'code', client_id: CLIENT_ID, redirect_uri: client.redirectUri, scope: 'kyc', state: 'xyz-987', back_url: 'https://shop.example.com/account' }));
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Verify your identity');
      const back = page.getByRole('link', { name: 'Back to shop.example.com' });
      assert.equal(await back.getAttribute('href'), 'https://shop.example.com/account');
      await screenshot(page, `${backend}-web-kyc-intro`);
      await page.getByRole('button', { name: 'Start verification' }).click();

      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Take a photo of your face');
      await page.getByLabel('A live face (passes)').check();
      await screenshot(page, `${backend}-web-kyc-liveness`);
      await page.getByRole('button', { name: 'Continue' }).click();

      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your identity document');
      await page.getByLabel('Passport, front (readable)').check();
      await page.getByLabel('Machine-readable zone').fill(buildMrz(passport).join('\n'));
      await page.getByLabel('Surname').fill('Schmidt');
      await page.getByLabel('Given names').fill('Anna Maria');
      await page.getByLabel('Document number').fill('C01X00T47');
      await page.getByLabel('Date of birth').fill('1987-01-12');
      await page.getByLabel('Date of expiry').fill(passport.dateOfExpiry);
      await page.getByLabel('Date of issue (optional)').fill(dateOfIssue);
      await screenshot(page, `${backend}-web-kyc-document`);
      await page.getByRole('button', { name: 'Continue' }).click();

      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Check your face against your document');
      await page.getByRole('button', { name: 'Compare and finish' }).click();

      await page.waitForURL((url) => url.href.startsWith(`${client.redirectUri}?`));
      await screenshot(page, `${backend}-web-kyc-back-at-operator`);
      const redirect = new URL(page.url());
      assert.equal(redirect.searchParams.get('state'), 'xyz-987');
      const code = redirect.searchParams.get('code')!;
      assert.match(code, /^[0-9a-f]{64}$/);

      const token = await exchange(platform, client, code);
      assert.equal(token.status, 200);
      assert.deepEqual(Object.keys(token.body), ['token']);
      assert.equal(token.headers.get('cache-control'), 'no-store');

      const answer = await details(platform, token.body.token);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.details, {
        documentNumber: 'C01X00T47',
        issuingCountry: 'DEU',
        documentType: 'PP',
        givenNames: 'Anna Maria',
        surname: 'Schmidt',
        dateOfBirth: '1987-01-12',
        nationality: 'DEU',
        dateOfIssue,
        dateOfExpiry: passport.dateOfExpiry,
        sex: 'F',
      });
      assert.deepEqual(Object.keys(answer.body.croppedDocs), ['front', 'back']);
      for (const [side, source] of [['front', 'document-front'], ['back', 'document-back']] as const) {
        const jpeg = Buffer.from(answer.body.croppedDocs[side], 'base64');
        assert.ok(jpeg.subarray(0, 3).equals(JPEG), `croppedDocs.${side} is a base64 JPEG`);
        // The browser decodes it, and it shows what was captured (the sandbox's PNG test image).
        const compared = await compareImages(page, jpeg, testImage(source));
        assert.deepEqual([compared.width, compared.height], [120, 80]);
        assert.ok(compared.meanDifference < 6, `croppedDocs.${side} looks like the capture (mean difference ${compared.meanDifference})`);
      }
    });

    it('serves the photos as stored at upload: JPEGs without EXIF or GPS, turned upright, never decoded at read time', async () => {
      // A phone photo: the camera's make and position in its EXIF, taken sideways (orientation 6).
      const phonePhoto = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#8aa0b4' } })
        .jpeg()
        .withExif({ IFD0: { Make: 'PhoneCo', Model: 'Pocket 9' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2952/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 4017/100' } })
        .withMetadata({ orientation: 6 })
        .toBuffer();
      const uploaded = await sharp(phonePhoto).metadata();
      assert.equal(uploaded.orientation, 6);
      assert.ok(uploaded.exif && phonePhoto.includes('PhoneCo'), 'the upload carries EXIF');
      // A 12-megapixel PNG (4000×3000), a few kilobytes: what used to be decoded at every read.
      const largePng = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#e0e4ea' } }).png().toBuffer();

      const flow = await startVerification(platform, client);
      const base = `${platform.url}/verification/sandbox/${flow.verificationId}`;
      const csrf = csrfOf(await (await get(`${base}/liveness`)).text());
      const liveness = new FormData();
      liveness.set('csrf', csrf);
      liveness.set('testImage', 'selfie');
      assert.ok(location(await postMultipart(`${base}/liveness`, liveness)).endsWith('/document'));
      const document = new FormData();
      document.set('csrf', csrf);
      document.set('sample', 'valid');
      document.set('front', new Blob([new Uint8Array(phonePhoto)], { type: 'image/jpeg' }), 'front.jpg');
      document.set('back', new Blob([new Uint8Array(largePng)], { type: 'image/png' }), 'back.png');
      const upload = await healthWhile(platform.url, () => postMultipart(`${base}/document`, document));
      assert.ok(location(upload.result).endsWith('/face-match'));
      assert.ok(upload.slowestMs < 100, `/healthz took ${upload.slowestMs.toFixed(1)} ms during the upload (${upload.checks} checks)`);
      const done = location(await postForm(`${base}/face-match`, { csrf }));
      const code = new URL(location(await get(`${platform.url}${done}`, flow.cookie))).searchParams.get('code')!;
      const token = (await exchange(platform, client, code)).body.token as string;

      const read = await healthWhile(platform.url, () => details(platform, token));
      assert.equal(read.result.status, 200);
      assert.ok(read.slowestMs < 100, `/healthz took ${read.slowestMs.toFixed(1)} ms during the read (${read.checks} checks)`);
      const front = Buffer.from(read.result.body.croppedDocs.front, 'base64');
      const back = Buffer.from(read.result.body.croppedDocs.back, 'base64');
      const stored = (await platform.services.verification.images(flow.verificationId))!;
      assert.ok(front.equals(stored.documentFront!) && back.equals(stored.documentBack!), 'the stored bytes, as they are');
      for (const served of [front, back]) {
        assert.ok(served.subarray(0, 3).equals(JPEG), 'a JPEG');
        const metadata = await sharp(served).metadata();
        assert.equal(metadata.format, 'jpeg');
        assert.equal(metadata.exif, undefined, 'no EXIF (no GPS position, no camera)');
        assert.equal(metadata.icc, undefined);
        assert.equal(metadata.orientation, undefined);
        assert.ok(!served.includes('Exif') && !served.includes('PhoneCo') && !served.includes('Pocket 9'));
      }
      const frontSize = await sharp(front).metadata();
      assert.deepEqual([frontSize.width, frontSize.height], [200, 300], 'turned upright');
      const backSize = await sharp(back).metadata();
      assert.deepEqual([backSize.width, backSize.height], [4000, 3000]);
    });

    it('accepts the token request as multipart (curl -F, as the seed shows) and as JSON, with either spelling of the grant type', async () => {
      const first = await verifiedCode(platform, client);
      const form = new FormData();
      for (const [k, v] of Object.entries({ grantType: 'authorization_code', code: first.code, redirectUri: client.redirectUri, clientId: CLIENT_ID, clientSecret: client.secret })) form.set(k, v);
      const multipart = await fetch(`${platform.url}/v2/web-kyc/token`, { method: 'POST', body: form });
      assert.equal(multipart.status, 200);
      assert.equal(typeof ((await multipart.json()) as { token: string }).token, 'string');

      const second = await verifiedCode(platform, client);
      const json = await fetch(`${platform.url}/v2/web-kyc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grantType: 'authorizationCode', code: second.code, redirectUri: client.redirectUri, clientId: CLIENT_ID, clientSecret: client.secret }),
      });
      assert.equal(json.status, 200);
    });

    it('exchanges a code once: a second exchange is refused and revokes the first token; the details are deleted', async () => {
      const { code, verificationId, flowId } = await verifiedCode(platform, client);
      const first = await exchange(platform, client, code);
      assert.equal(first.status, 200);
      assert.equal((await details(platform, first.body.token)).status, 200);

      const again = await exchange(platform, client, code);
      assert.equal(again.status, 400);
      assert.deepEqual(again.body, { errorCode: 'INVALID_CODE', errorMessage: 'The code is invalid, expired or was already used' });

      const revoked = await details(platform, first.body.token);
      assert.equal(revoked.status, 401);
      assert.equal(revoked.body.errorCode, 'TOKEN_INVALID');
      assert.match(revoked.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      const verification = await platform.services.verification.get(verificationId);
      assert.equal(verification?.dataDeleted, true, 'the verified details are deleted at once');
      assert.equal(await count(platform, 'verification_images where verification_id = $1', [verificationId]), 0);
      const events = await platform.services.repos.events.listForFlow(flowId);
      assert.ok(events.some((e) => e.type === 'web_kyc.revoked'));
    });

    it('records the hand-over of the details as one consent: client, flow, verification and the fields by name, no person and no values', async () => {
      const { code, verificationId, flowId } = await verifiedCode(platform, client);
      const token = (await exchange(platform, client, code)).body.token as string;
      assert.equal(await count(platform, 'consents where flow_id = $1', [flowId]), 0, 'nothing is handed over before the details are read');
      const first = await details(platform, token);
      assert.equal(first.status, 200);
      assert.equal((await details(platform, token)).status, 200, 'the operator reads the same details again');

      const records = (await platform.services.consents.list({ clientId: CLIENT_ID })).filter((c) => c.flowId === flowId);
      assert.equal(records.length, 1, 'one record for the hand-over, however often it is read');
      const consent = records[0]!;
      assert.equal(consent.door, 'web_kyc');
      assert.equal(consent.clientId, CLIENT_ID);
      assert.equal(consent.clientName, 'Example Shop');
      assert.equal(consent.userId, undefined, 'a Web KYC person has no account');
      assert.equal(consent.verificationId, verificationId);
      const handed = Object.entries(first.body.details).flatMap(([field, value]) => (value === null ? [] : [field]));
      const images = first.body.croppedDocs.back ? ['documentFront', 'documentBack'] : ['documentFront'];
      assert.deepEqual(new Set(consent.shared), new Set([...handed, ...images]));
      const [row] = await platform.services.db.query('select * from consents where flow_id = $1', [flowId]);
      for (const value of [first.body.details.documentNumber, first.body.details.surname, first.body.details.dateOfBirth]) {
        assert.ok(!JSON.stringify(row).includes(value), 'the record names fields, never their values');
      }
      const shared = (await platform.services.repos.events.listForFlow(flowId)).filter((e) => e.type === 'identity.shared');
      assert.equal(shared.length, 1);
      assert.equal(shared[0]!.clientId, CLIENT_ID);
    });

    it('refuses a wrong client secret (constant-time compare on the stored hash) without using the code up', async () => {
      const { code } = await verifiedCode(platform, client);
      const wrong = await exchange(platform, client, code, { clientSecret: `${client.secret.slice(0, -1)}x` });
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, { errorCode: 'API_KEYS_INVALID', errorMessage: 'clientId or clientSecret is not valid' });
      const unknown = await exchange(platform, client, code, { clientId: 'no-such-client' });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.errorCode, 'API_KEYS_INVALID');
      assert.equal((await exchange(platform, client, code)).status, 200, 'the right client can still exchange the code');
    });

    it('refuses a redirectUri other than the one the code was issued for', async () => {
      const { code } = await verifiedCode(platform, client);
      const wrong = await exchange(platform, client, code, { redirectUri: `${client.redirectUri}/other` });
      assert.equal(wrong.status, 400);
      assert.deepEqual(wrong.body, { errorCode: 'INVALID_REQUEST_PARAMETER', errorMessage: 'redirectUri is not the one the code was issued for' });
    });

    it('validates the token request in the documented error shape', async () => {
      const missing = await fetch(`${platform.url}/v2/web-kyc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grantType: 'authorization_code', code: 'x', clientId: CLIENT_ID, clientSecret: 'y' }) });
      assert.equal(missing.status, 400);
      assert.deepEqual(await missing.json(), { errorCode: 'MISSING_REQUEST_PARAMETER', errorMessage: 'redirectUri is required' });
      const grant = await exchange(platform, client, 'abc', { grantType: 'refresh_token' });
      assert.equal(grant.status, 400);
      assert.equal(grant.body.errorCode, 'INVALID_REQUEST_PARAMETER');
      const unknownCode = await exchange(platform, client, 'f'.repeat(64));
      assert.equal(unknownCode.status, 400);
      assert.equal(unknownCode.body.errorCode, 'INVALID_CODE');
      const noToken = await details(platform, undefined);
      assert.equal(noToken.status, 401);
      assert.equal(noToken.body.errorCode, 'TOKEN_MISSING');
      assert.match(noToken.headers.get('www-authenticate') ?? '', /^Bearer/);
    });

    it('never redirects to an unknown client or an unregistered redirect URI: it shows an error page', async () => {
      const cases: Record<string, string | undefined>[] = [
        { client_id: 'no-such-client', redirect_uri: client.redirectUri },
        { client_id: CLIENT_ID, redirect_uri: 'https://evil.example/steal' },
        { client_id: CLIENT_ID, redirect_uri: `${client.redirectUri}/` },
        { client_id: CLIENT_ID, redirect_uri: undefined },
        { client_id: undefined, redirect_uri: client.redirectUri },
      ];
      for (const params of cases) {
        const answer = await get(authorizeUrl(platform, { response_type: 'code', scope: 'kyc', state: 's1', ...params }));
        assert.equal(answer.status, 400, JSON.stringify(params));
        assert.equal(answer.headers.get('location'), null, 'no redirect');
        assert.match(answer.headers.get('content-type') ?? '', /^text\/html/);
        const body = await answer.text();
        assert.ok(!body.includes('evil.example'), 'the unregistered URI is not echoed');
      }
      const repeated = await get(`${authorizeUrl(platform, { response_type: 'code', client_id: CLIENT_ID, scope: 'kyc', state: 's1' })}&redirect_uri=${encodeURIComponent(client.redirectUri)}&redirect_uri=${encodeURIComponent(client.redirectUri)}`);
      assert.equal(repeated.status, 400);
    });

    it('sends the other request errors back to the redirect URI with the state (RFC 6749 §4.1.2.1)', async () => {
      const errorOf = async (params: Record<string, string | undefined>) => {
        const url = new URL(location(await get(authorizeUrl(platform, { response_type: 'code', client_id: CLIENT_ID, redirect_uri: client.redirectUri, scope: 'kyc', state: 'st-9', ...params }))));
        assert.equal(`${url.origin}${url.pathname}`, client.redirectUri);
        return { error: url.searchParams.get('error'), state: url.searchParams.get('state'), description: url.searchParams.get('error_description') };
      };
      assert.deepEqual(await errorOf({ state: undefined }), { error: 'invalid_request', state: null, description: 'state is required' });
      assert.deepEqual(await errorOf({ scope: 'openid' }), { error: 'invalid_scope', state: 'st-9', description: 'the only supported scope is kyc' });
      assert.deepEqual(await errorOf({ response_type: 'token' }), { error: 'unsupported_response_type', state: 'st-9', description: 'only response_type=code is supported' });
      assert.equal((await errorOf({ response_type: undefined })).error, 'invalid_request');
      assert.equal((await errorOf({ back_url: 'javascript:alert(1)' })).error, 'invalid_request');
      assert.equal((await errorOf({ back_url: 'http://shop.example.com/' })).error, 'invalid_request');

      const plain = await kycClient(platform, `${app.origin}/plain`, 'plain-oauth-client', false);
      const url = new URL(location(await get(authorizeUrl(platform, { response_type: 'code', client_id: 'plain-oauth-client', redirect_uri: plain.redirectUri, scope: 'kyc', state: 's' }))));
      assert.equal(url.searchParams.get('error'), 'unauthorized_client', 'a client without Web KYC is refused');
    });

    it('accepts the request without a scope (kyc is the default) and the seed\'s `back` spelling of back_url', async () => {
      const answer = await get(authorizeUrl(platform, { response_type: 'code', client_id: CLIENT_ID, redirect_uri: client.redirectUri, state: 's', back: 'https://shop.example.com/' }));
      const intro = location(answer);
      const page = await (await get(`${platform.url}${intro}`, answer.headers.get('set-cookie')!.split(';')[0])).text();
      assert.match(page, /<a class="back" href="https:\/\/shop.example.com\/" rel="noreferrer">Back to shop.example.com<\/a>/);
    });

    it("accepts a back_url only on one of the client's registered origins", async () => {
      const errorOf = async (backUrl: string) => {
        const url = new URL(location(await get(authorizeUrl(platform, { response_type: 'code', client_id: CLIENT_ID, redirect_uri: client.redirectUri, scope: 'kyc', state: 'st-b', back_url: backUrl }))), platform.url);
        assert.equal(`${url.origin}${url.pathname}`, client.redirectUri, 'the error goes back to the client');
        return { error: url.searchParams.get('error'), description: url.searchParams.get('error_description'), state: url.searchParams.get('state') };
      };
      const refused = { error: 'invalid_request', description: "back_url must be on one of the client's registered origins", state: 'st-b' };
      const flows = await count(platform, "flows where kind = 'web_kyc'", []);
      for (const elsewhere of [
        'https://evil.example/',
        'https://shop.example.com.evil.example/account',
        'https://evil.example/https://shop.example.com/',
        'https://shop.example.com:8443/account',
        'https://www.shop.example.com/account',
      ]) {
        assert.deepEqual(await errorOf(elsewhere), refused, elsewhere);
      }
      assert.equal(await count(platform, "flows where kind = 'web_kyc'", []), flows, 'a refused back_url opens no flow');
      for (const registered of ['https://shop.example.com/account?tab=orders', `${app.origin}/basket`]) {
        const answer = await get(authorizeUrl(platform, { response_type: 'code', client_id: CLIENT_ID, redirect_uri: client.redirectUri, scope: 'kyc', state: 's', back_url: registered }));
        const page = await (await get(`${platform.url}${location(answer)}`, answer.headers.get('set-cookie')!.split(';')[0])).text();
        assert.match(page, new RegExp(`<a class="back" href="${registered.replace(/[.?]/g, '\\$&').replace(/&/g, '&amp;')}" rel="noreferrer">`), registered);
      }
    });

    it('sends a failed verification back with access_denied, its reason code and the state', async () => {
      const flow = await startVerification(platform, client);
      const back = await sandboxSteps(platform, flow.verificationId, { face: 'selfie-liveness-fail' });
      const url = new URL(location(await get(`${platform.url}${back}`, flow.cookie)));
      assert.equal(url.searchParams.get('error'), 'access_denied');
      assert.equal(url.searchParams.get('error_description'), 'liveness_failed');
      assert.equal(url.searchParams.get('state'), 'st-123');
      assert.equal(url.searchParams.get('code'), null);

      const expired = await startVerification(platform, client);
      const after = new URL(location(await get(`${platform.url}${await sandboxSteps(platform, expired.verificationId, { sample: 'expired' })}`, expired.cookie)));
      assert.equal(after.searchParams.get('error_description'), 'document_expired');
    });

    it('tells the operator when its provider is not offered here (server_error, provider_unavailable)', async () => {
      const veriffClient = await kycClient(platform, `${app.origin}/veriff`, 'veriff-shop', false);
      await saveWebKycSettings(platform.services.repos.clients, 'veriff-shop', { enabled: true, provider: 'veriff' });
      const answer = await get(authorizeUrl(platform, { response_type: 'code', client_id: 'veriff-shop', redirect_uri: veriffClient.redirectUri, scope: 'kyc', state: 'st-v' }));
      const intro = location(answer);
      const cookie = answer.headers.get('set-cookie')!.split(';')[0]!;
      const csrf = csrfOf(await (await get(`${platform.url}${intro}`, cookie)).text());
      const url = new URL(location(await postForm(`${platform.url}${intro}/start`, { csrf }, cookie)));
      assert.deepEqual([url.searchParams.get('error'), url.searchParams.get('error_description'), url.searchParams.get('state')], ['server_error', 'provider_unavailable', 'st-v']);
    });

    it('lets the person cancel on the introduction page', async () => {
      const answer = await get(authorizeUrl(platform, { response_type: 'code', client_id: CLIENT_ID, redirect_uri: client.redirectUri, scope: 'kyc', state: 'st-c' }));
      const intro = location(answer);
      const cookie = answer.headers.get('set-cookie')!.split(';')[0]!;
      const csrf = csrfOf(await (await get(`${platform.url}${intro}`, cookie)).text());
      const url = new URL(location(await postForm(`${platform.url}${intro}/cancel`, { csrf }, cookie)));
      assert.deepEqual([url.searchParams.get('error'), url.searchParams.get('error_description'), url.searchParams.get('state')], ['access_denied', 'cancelled_by_person', 'st-c']);
    });

    it('shows a waiting page that refreshes itself while the result is pending', async () => {
      const flow = await startVerification(platform, client);
      const waiting = await get(`${platform.url}/web-kyc/flows/${flow.flowId}/continue`, flow.cookie);
      assert.equal(waiting.status, 200);
      const page = await waiting.text();
      assert.match(page, /<meta http-equiv="refresh" content="2">/);
      assert.match(page, /Checking your document/);
    });

    it('continues a flow only in the browser that started it', async () => {
      const flow = await startVerification(platform, client);
      await sandboxSteps(platform, flow.verificationId);
      const elsewhere = await get(`${platform.url}/web-kyc/flows/${flow.flowId}/continue`);
      assert.equal(elsewhere.status, 403);
      assert.equal(elsewhere.headers.get('location'), null);
      const forged = await get(`${platform.url}/web-kyc/flows/${flow.flowId}/continue`, 'idflow_wkyc=forged');
      assert.equal(forged.status, 403);
      const malformed = await get(`${platform.url}/web-kyc/flows/not-a-flow/continue`);
      assert.equal(malformed.status, 400);
      assert.match(malformed.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await malformed.text(), /This link is not valid/);
    });

    it('normalises other PNG captures (with transparency, odd sizes) into JPEGs that decode to the same picture', async () => {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      // A PNG as a browser would make one: RGBA, 8 bits, a size that is not a multiple of 8.
      const pngBase64 = await page.evaluate(() => {
        const canvas = document.createElement('canvas');
        canvas.width = 203;
        canvas.height = 131;
        const context = canvas.getContext('2d')!;
        const gradient = context.createLinearGradient(0, 0, 203, 131);
        gradient.addColorStop(0, '#1d4ed8');
        gradient.addColorStop(1, '#f29e2e');
        context.fillStyle = gradient;
        context.fillRect(0, 0, 203, 100);
        context.fillStyle = 'rgba(180, 35, 24, 0.5)';
        context.fillRect(20, 60, 150, 60);
        return canvas.toDataURL('image/png').split(',')[1]!;
      });
      const png = Buffer.from(pngBase64, 'base64');
      const normalised = await normaliseImage(png, imageLimits(platform.config.verification));
      assert.ok(normalised.ok);
      const jpeg = normalised.image;
      assert.ok(jpeg.subarray(0, 3).equals(JPEG));
      const compared = await compareImages(page, jpeg, png);
      assert.deepEqual([compared.width, compared.height], [203, 131]);
      assert.ok(compared.meanDifference < 4, `mean difference ${compared.meanDifference}`);
    });

    it('writes the details body as the very bytes JSON.stringify gives, with and without a back image', () => {
      const document = {
        documentType: 'passport' as const,
        documentNumber: 'C01X00T47',
        issuingCountry: 'DEU',
        givenNames: 'Zoë "Jo"',
        surname: 'Ørsted\\Ünal',
        dateOfBirth: '1987-01-12',
        dateOfExpiry: '2031-11-22',
        nationality: 'DEU',
      };
      const front = Buffer.concat([JPEG, Buffer.from('front image bytes \u00ff\u0000')]);
      const back = Buffer.concat([JPEG, Buffer.from('back')]);
      for (const images of [{ documentFront: front, documentBack: back }, { documentFront: front }, {}]) {
        const input = { document, images } as Parameters<typeof authenteqDetailsJson>[0];
        const bytes = authenteqDetailsJson(input);
        assert.equal(bytes.toString('utf8'), JSON.stringify(toAuthenteqDetails(input)));
        assert.deepEqual(JSON.parse(bytes.toString('utf8')).details.givenNames, 'Zoë "Jo"');
      }
    });

    it('publishes the endpoints in /openapi.json under the authenteq-webkyc tag', async () => {
      const spec = (await (await fetch(`${platform.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
      for (const [path, method] of [['/authorize', 'get'], ['/v2/web-kyc/token', 'post'], ['/v2/web-kyc/details', 'get']] as const) {
        assert.deepEqual(spec.paths[path]?.[method]?.tags, ['authenteq-webkyc'], `${method} ${path}`);
      }
    });
  });

  describe(`Web KYC lifetimes and purge (${backend})`, () => {
    const clock = new ManualClock(new Date('2030-03-01T10:00:00Z'));
    let platform: TestPlatform;
    let app: LoopbackApp;
    let client: Client;

    before(async () => {
      platform = await startPlatform(backend, { listen: true, clock });
      app = await startLoopbackApp();
      client = await kycClient(platform, `${app.origin}/cb`);
    });
    after(async () => {
      await app?.close();
      await platform?.close();
    });

    it('lets a code live 60 seconds', async () => {
      const fresh = await verifiedCode(platform, client);
      clock.advance(59_000);
      assert.equal((await exchange(platform, client, fresh.code)).status, 200);

      const stale = await verifiedCode(platform, client);
      clock.advance(61_000);
      const late = await exchange(platform, client, stale.code);
      assert.equal(late.status, 400);
      assert.equal(late.body.errorCode, 'INVALID_CODE');
    });

    it('lets a token read the details for 15 minutes, then purges the details, images and rows', async () => {
      const { code, flowId, verificationId } = await verifiedCode(platform, client);
      const { body } = await exchange(platform, client, code);
      clock.advance(14 * 60_000 + 59_000);
      assert.equal((await details(platform, body.token)).status, 200);
      await purgeWebKyc(platform.services);
      assert.equal(await count(platform, "codes where flow_id = $1 and purpose = 'web_kyc.token'", [flowId]), 1, 'nothing of it is due before the 15 minutes are up');

      clock.advance(2_000);
      const expired = await details(platform, body.token);
      assert.equal(expired.status, 401);
      assert.equal(expired.body.errorCode, 'TOKEN_INVALID');

      assert.ok((await purgeWebKyc(platform.services)) >= 1);
      assert.equal(await count(platform, "codes where flow_id = $1 and purpose = 'web_kyc.token'", [flowId]), 0, 'the token row is gone');
      assert.equal(await count(platform, 'flows where id = $1', [flowId]), 0, 'the flow row is gone');
      assert.equal(await count(platform, 'verification_images where verification_id = $1', [verificationId]), 0, 'the document images are gone');
      assert.equal(await count(platform, 'verifications where id = $1 and document_sealed is not null', [verificationId]), 0, 'the document details are gone');
      assert.equal((await platform.services.verification.get(verificationId))?.dataDeleted, true);
    });

    it('purges an unexchanged code with its details once the code has expired', async () => {
      const { flowId, verificationId } = await verifiedCode(platform, client);
      clock.advance(61_000);
      assert.ok((await purgeWebKyc(platform.services)) >= 1);
      assert.equal(await count(platform, 'codes where flow_id = $1', [flowId]), 0);
      assert.equal(await count(platform, 'verification_images where verification_id = $1', [verificationId]), 0);
    });

    it('enables Web KYC from an import file, and refuses it for a public client', async () => {
      await applyImport(platform.services, {
        clients: [{ client_id: 'imported-shop', name: 'Imported Shop', redirect_uris: [`${app.origin}/imported`], grant_types: ['authorization_code'], web_kyc: { enabled: true, provider: 'sandbox' } }],
      });
      const imported = await platform.services.clients.find('imported-shop');
      assert.deepEqual(imported?.metadata.web_kyc, { enabled: true, provider: 'sandbox' });
      const answer = await get(authorizeUrl(platform, { response_type: 'code', client_id: 'imported-shop', redirect_uri: `${app.origin}/imported`, scope: 'kyc', state: 's' }));
      assert.match(location(answer), FLOW_PAGE);
      await assert.rejects(
        applyImport(platform.services, { clients: [{ client_id: 'public-app', name: 'Public', public: true, redirect_uris: [`${app.origin}/p`], web_kyc: true }] }),
        /secret/,
      );
    });

    it('refuses http://localhost redirect URIs outside development', async () => {
      const check = await checkAuthorizeRequest(
        { response_type: 'code', client_id: CLIENT_ID, redirect_uri: client.redirectUri, scope: 'kyc', state: 's' },
        (id) => platform.services.repos.clients.findById(id),
        { allowInsecureLoopback: false },
      );
      assert.deepEqual(check, { kind: 'fatal', reason: 'redirect_uri_not_secure' });
    });
  });
}
