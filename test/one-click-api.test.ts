import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/kernel/clock.ts';
import { isOneClickError } from '../src/one-click/errors.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { openPlatform } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/index.ts';
import { createLogger } from '../src/kernel/logger.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RICHARD = '+10123456789';
const MINUTE = 60_000;

type Integration = 'hosted' | 'semi_hosted' | 'non_hosted';

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: any;
}

/** One call to the 1-Click API as an operator's backend makes it. */
async function call(platform: TestPlatform, method: 'GET' | 'POST' | 'PATCH', url: string, key: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await platform.app.inject({
    method,
    url,
    headers: { ...(key !== undefined ? { authorization: key } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: response.statusCode, headers: response.headers, body: response.body ? response.json() : undefined };
}

/** A Verified error: status, Feathers body, errorCode; and no 1ClickEntity anywhere in it. */
function assertOce(answer: Answer, status: number, errorCode: string, message?: string | RegExp): void {
  assert.equal(answer.status, status, `expected ${status} ${errorCode}, got ${answer.status} ${JSON.stringify(answer.body)}`);
  const names: Record<number, [string, string]> = {
    400: ['BadRequest', 'bad-request'],
    401: ['NotAuthenticated', 'not-authenticated'],
    403: ['Forbidden', 'forbidden'],
    404: ['NotFound', 'not-found'],
    409: ['Conflict', 'conflict'],
    410: ['Gone', 'gone'],
    429: ['TooManyRequests', 'too-many-requests'],
  };
  assert.equal(answer.body.name, names[status]![0]);
  assert.equal(answer.body.className, names[status]![1]);
  assert.equal(answer.body.code, status);
  assert.equal(answer.body.data.errorCode, errorCode);
  if (typeof message === 'string') assert.equal(answer.body.message, message);
  else if (message) assert.match(answer.body.message, message);
  for (const leak of ['identity', 'credentials', 'identifiers', 'uuid']) assert.ok(!(leak in answer.body), `error body has ${leak}`);
}

for (const backend of await backends()) {
  describe(`1-Click API, Verified-compatible (${backend})`, () => {
    let platform: TestPlatform;
    const clock = new ManualClock(new Date('2026-03-01T12:00:00Z'));
    const keys: Record<string, string> = {};
    let phoneSeq = 0;
    /** A fresh well-formed US number: the sandbox answers any with Richard's mock data. */
    const freshPhone = () => `+1202555${String(1000 + phoneSeq++).padStart(4, '0')}`;

    async function brand(clientId: string, integration: Integration, environment: 'sandbox' | 'production' = 'sandbox', extra: Record<string, unknown> = {}) {
      await platform.services.clients.save({
        clientId,
        name: `Brand ${clientId}`,
        oneClick: { integration, environment, defaultRedirectUrl: 'https://hooli.example/verified', ...extra },
      });
      keys[clientId] = (await platform.services.apiKeys.create(clientId)).key;
      return keys[clientId]!;
    }

    before(async () => {
      platform = await startPlatform(backend, { clock });
      await brand('hooli-hosted', 'hosted');
      // A second place a Hosted request may send people: registered as the client's redirect URI.
      await platform.services.clients.update('hooli-hosted', { redirectUris: ['https://hooli.example/after?from=verified'] });
      await brand('hooli-semi', 'semi_hosted');
      await brand('hooli-non', 'non_hosted');
    });
    after(() => platform.close());

    // ── Every integration type, end to end ─────────────────────────────────────────────

    it('Non-Hosted: POST returns {uuid, identity} with the default credentials, metadata mirroring them; GET returns the same', async () => {
      const post = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: RICHARD });
      assert.equal(post.status, 201);
      assert.deepEqual(Object.keys(post.body), ['uuid', 'identity']);
      assert.match(post.body.uuid, UUID);
      const identity = post.body.identity;
      assert.deepEqual(identity.identifiers, { phone: RICHARD });
      assert.deepEqual(Object.keys(identity.credentials), ['fullName', 'phone', 'address', 'birthDate', 'ssn']);
      assert.deepEqual(identity.credentials.fullName, { firstName: 'Richard', lastName: 'Hendricks' });
      assert.equal(identity.credentials.phone, RICHARD);
      assert.deepEqual(identity.credentials.address, { line1: '5320 Newell Rd', city: 'Palo Alto', state: 'CA', country: 'US', zipCode: '94303' });
      assert.deepEqual(Object.keys(identity.credentials.address), ['line1', 'city', 'state', 'country', 'zipCode'], 'parts in request order');
      assert.equal(identity.credentials.birthDate, '1989-08-01');
      assert.equal(identity.credentials.ssn, '123456789');
      // The operator verified the phone itself.
      assert.deepEqual(identity.metadata.identifiers.verificationMethod, { phone: 'customer_otp' });
      assert.deepEqual(identity.metadata.identifiers.riskSignals.overall, { score: 100, level: 'low', recommendation: 'allow' });
      const meta = identity.metadata.credentials;
      assert.deepEqual(Object.keys(meta), ['id', 'verificationMethod', 'status', 'expirationDate']);
      for (const key of Object.keys(meta)) assertMirrors(identity.credentials, meta[key], key);
      assert.match(meta.id.fullName.firstName, UUID);
      assert.equal(meta.status.birthDate, 'valid');
      assert.equal(meta.expirationDate.birthDate, null);
      assert.match(meta.expirationDate.fullName.firstName, /^\d{13}$/);
      assert.equal(meta.verificationMethod.phone, 'customer_otp');

      const get = await call(platform, 'GET', `/1-click/${post.body.uuid}`, keys['hooli-non']);
      assert.equal(get.status, 200);
      assert.deepEqual(get.body, identity);
    });

    it('Semi-Hosted: POST returns {uuid, code}; GET needs the person\'s code (single use), then the data can be read again', async () => {
      const key = keys['hooli-semi'];
      const post = await call(platform, 'POST', '/1-click', key, { phone: RICHARD, email: 'richard@piedpiper.net' });
      assert.equal(post.status, 201);
      assert.deepEqual(Object.keys(post.body), ['uuid', 'code']);
      assert.equal(post.body.code, '111111', 'sandbox test users use the documented code');
      const url = `/1-click/${post.body.uuid}`;
      assertOce(await call(platform, 'GET', url, key), 400, 'OCE009', 'Verification code is required');
      assertOce(await call(platform, 'GET', `${url}?code=123456`, key), 400, 'OCE008', 'Invalid or expired verification code');
      const get = await call(platform, 'GET', `${url}?code=111111`, key);
      assert.equal(get.status, 200);
      assert.deepEqual(get.body.identifiers, { phone: RICHARD, email: 'richard@piedpiper.net' });
      assert.deepEqual(get.body.metadata.identifiers.verificationMethod, { phone: 'otp', email: 'self_attested' });
      assert.equal(get.body.metadata.credentials.verificationMethod.phone, 'otp');
      assert.equal(get.body.credentials.fullName.firstName, 'Richard');
      assertOce(await call(platform, 'GET', `${url}?code=111111`, key), 400, 'OCE008');
      const again = await call(platform, 'GET', url, key);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, get.body);
    });

    it('Semi-Hosted with a random code for a number outside the test directory', async () => {
      const key = keys['hooli-semi'];
      const post = await call(platform, 'POST', '/1-click', key, { phone: freshPhone() });
      assert.match(post.body.code, /^\d{6}$/);
      const get = await call(platform, 'GET', `/1-click/${post.body.uuid}?code=${post.body.code}`, key);
      assert.equal(get.status, 200);
      assert.equal(get.body.credentials.fullName.lastName, 'Hendricks');
    });

    it('Hosted: POST returns {uuid, url, code}; the person enters the code, edits, shares; GET then returns what was shared', async () => {
      const key = keys['hooli-hosted'];
      const post = await call(platform, 'POST', '/1-click', key, {
        phone: RICHARD,
        content: { title: 'Verify', description: 'Confirm your new Hooli account info:' },
        credentialRequests: [
          { type: 'FullNameCredential', mandatory: 'yes', children: [{ type: 'FirstNameCredential' }, { type: 'MiddleNameCredential', mandatory: 'if_available' }, { type: 'LastNameCredential' }] },
          { type: 'BirthDateCredential', allowUserInput: false },
        ],
        redirectUrl: 'https://hooli.example/after?from=verified',
      });
      assert.equal(post.status, 201);
      assert.deepEqual(Object.keys(post.body), ['uuid', 'url', 'code']);
      assert.equal(post.body.url, `${platform.config.issuer}/1-click/wallet/${post.body.uuid}?phone=%2B10123456789`);
      const uuid = post.body.uuid;
      assertOce(await call(platform, 'GET', `/1-click/${uuid}`, key), 409, 'OCE001');

      const { oneClick } = platform.services;
      const start = await oneClick.viewForPerson(uuid);
      assert.equal(start.step, 'code');
      assert.deepEqual(start.brand, { name: 'Brand hooli-hosted', title: 'Verify', description: 'Confirm your new Hooli account info:' });
      assert.equal(start.phoneHint, '6789');
      assert.equal(start.fields, undefined, 'nothing personal before the code');
      await assert.rejects(oneClick.submitCode(uuid, '000000'), (e) => isOneClickError(e) && e.reason === 'invalid_code' && e.details.attemptsRemaining === 2);
      const review = await oneClick.viewForPerson(uuid, '111111');
      assert.equal(review.step, 'review');
      const token = review.personToken!;
      assert.ok(token.length >= 40, 'the browser that entered the code gets a token');
      // Whoever else holds the link (the operator got it from POST) sees no data and cannot act.
      const elsewhere = await oneClick.viewForPerson(uuid);
      assert.equal(elsewhere.step, 'review');
      assert.equal(elsewhere.locked, true);
      assert.equal(elsewhere.fields, undefined);
      await assert.rejects(oneClick.share(uuid, {}), (e) => isOneClickError(e) && e.reason === 'person_token_required');
      await assert.rejects(oneClick.share(uuid, {}, 'forged-token'), (e) => isOneClickError(e) && e.reason === 'person_token_required');
      await assert.rejects(oneClick.decline(uuid), (e) => isOneClickError(e) && e.reason === 'person_token_required');
      assert.deepEqual((await oneClick.viewForPerson(uuid, undefined, token)).fields, review.fields, 'a reload with the token shows the data again');
      assert.deepEqual(
        review.fields!.map((f) => [f.id, f.value, f.required, f.editable]),
        [
          ['fullName.firstName', 'Richard', false, true],
          ['fullName.middleName', '', true, true],
          ['fullName.lastName', 'Hendricks', false, true],
          ['birthDate', '1989-08-01', false, false],
        ],
      );
      await assert.rejects(oneClick.share(uuid, {}, token), (e) => isOneClickError(e) && e.reason === 'invalid_input' && /Middle name/.test(e.details.explanation!));
      await assert.rejects(oneClick.share(uuid, { 'fullName.middleName': 'B', birthDate: '1990-01-01' }, token), (e) => isOneClickError(e) && e.reason === 'invalid_input');
      await assert.rejects(oneClick.share(uuid, { 'fullName.middleName': 'B', 'address.line1': 'x' }, token), (e) => isOneClickError(e) && e.reason === 'invalid_input');
      const { redirectUrl } = await oneClick.share(uuid, { 'fullName.middleName': 'Baudelaire', 'fullName.firstName': 'Rich' }, token);
      assert.equal(redirectUrl, `https://hooli.example/after?from=verified&identityUuid=${uuid}`);

      const get = await call(platform, 'GET', `/1-click/${uuid}`, key);
      assert.equal(get.status, 200);
      assert.deepEqual(get.body.credentials, { fullName: { firstName: 'Rich', middleName: 'Baudelaire', lastName: 'Hendricks' }, birthDate: '1989-08-01' });
      assert.deepEqual(get.body.metadata.credentials.verificationMethod.fullName, { firstName: 'self_attested', middleName: 'self_attested', lastName: 'phone_carrier' });
      assert.equal(get.body.metadata.credentials.verificationMethod.birthDate, 'credit_bureau');
      assert.equal((await oneClick.viewForPerson(uuid)).step, 'shared');
    });

    it('Hosted: a birth date is asked of the person when needed; failures end with a redirect the operator can read', async () => {
      const { oneClick } = platform.services;
      const post = await call(platform, 'POST', '/1-click', keys['hooli-hosted'], { phone: '+10019999999', birthDate: '1979-01-01' });
      const uuid = post.body.uuid;
      const asked = await oneClick.submitCode(uuid, '111111');
      assert.equal(asked.step, 'input', 'the operator\'s birth date did not match: the person is asked');
      assert.deepEqual(asked.additionalInputs, ['birthDate']);
      const token = asked.personToken!;
      await assert.rejects(oneClick.provideInput(uuid, { birthDate: '1989-08-01' }), (e) => isOneClickError(e) && e.reason === 'person_token_required');
      await assert.rejects(oneClick.provideInput(uuid, { birthDate: '1980-02-02' }, token), (e) => isOneClickError(e) && e.reason === 'input_mismatch');
      const review = await oneClick.provideInput(uuid, { birthDate: '1989-08-01' }, token);
      assert.equal(review.step, 'review');
      assert.ok(review.fields!.some((f) => f.id === 'birthDate' && f.value === '1989-08-01' && f.verificationMethod === 'credit_bureau'));
      const { redirectUrl } = await oneClick.share(uuid, {}, token);
      assert.equal(new URL(redirectUrl).searchParams.get('identityUuid'), uuid);

      const nothing = await call(platform, 'POST', '/1-click', keys['hooli-hosted'], { phone: '+10019999998', ssn4: '1111' });
      const failed = await oneClick.viewForPerson(nothing.body.uuid, '111111');
      assert.equal(failed.step, 'failed');
      assert.equal(failed.failure, 'nothing_found');
      assert.equal(failed.redirectUrl, `https://hooli.example/verified?identityUuid=${nothing.body.uuid}&error=nothing_found`);
      assertOce(await call(platform, 'GET', `/1-click/${nothing.body.uuid}`, keys['hooli-hosted']), 400, 'OCE013');

      const missing = await call(platform, 'POST', '/1-click', keys['hooli-hosted'], { phone: freshPhone(), credentialRequests: [{ type: 'GenderCredential', mandatory: 'yes', allowUserInput: false }, { type: 'BirthDateCredential' }] });
      const ended = await oneClick.submitCode(missing.body.uuid, missing.body.code);
      assert.deepEqual([ended.step, ended.failure], ['failed', 'mandatory_credentials_missing'], 'a mandatory credential the person may not type ends the request (OCE007)');
      assertOce(await call(platform, 'GET', `/1-click/${missing.body.uuid}`, keys['hooli-hosted']), 400, 'OCE007');
      const typed = await call(platform, 'POST', '/1-click', keys['hooli-hosted'], { phone: freshPhone(), credentialRequests: [{ type: 'GenderCredential', mandatory: 'yes' }, { type: 'BirthDateCredential' }] });
      const typedView = await oneClick.submitCode(typed.body.uuid, typed.body.code);
      assert.deepEqual(typedView.fields!.map((f) => [f.id, f.required, f.editable]), [['gender', true, true], ['birthDate', false, true]], 'a mandatory credential the person may type is a required field');
      await oneClick.share(typed.body.uuid, { gender: 'Female' }, typedView.personToken);
      const shared = await call(platform, 'GET', `/1-click/${typed.body.uuid}`, keys['hooli-hosted']);
      assert.equal(shared.body.credentials.gender, 'Female');
      assert.equal(shared.body.metadata.credentials.verificationMethod.gender, 'self_attested');
    });

    it('Hosted: declining redirects with an error and GET answers OCE021; a Semi-Hosted uuid opens no page', async () => {
      const post = await call(platform, 'POST', '/1-click', keys['hooli-hosted'], { phone: '+12225550001' });
      const { redirectUrl } = await platform.services.oneClick.decline(post.body.uuid);
      assert.equal(redirectUrl, `https://hooli.example/verified?identityUuid=${post.body.uuid}&error=declined`);
      assertOce(await call(platform, 'GET', `/1-click/${post.body.uuid}`, keys['hooli-hosted']), 403, 'OCE021', 'User Opted Out');
      const semi = await call(platform, 'POST', '/1-click', keys['hooli-semi'], { phone: freshPhone() });
      await assert.rejects(platform.services.oneClick.viewForPerson(semi.body.uuid), (e) => isOneClickError(e) && e.reason === 'request_not_found');
    });

    it('Hosted: redirectUrl must be a URL the brand registered (exact after normalisation, query included); declining goes nowhere else', async () => {
      const key = keys['hooli-hosted'];
      const flows = async () => (await platform.services.db.query<{ n: number }>("select count(*)::int as n from flows where kind = 'one_click'"))[0]!.n;
      const before = await flows();
      for (const redirectUrl of [
        'https://trusted.example@evil.example',
        'https://hooli.example@evil.example/verified',
        'https://evil.example/verified',
        'https://hooli.example.evil.example/verified',
        'http://hooli.example/verified',
        'https://hooli.example/verified/',
        'https://hooli.example/verified?next=https://evil.example',
        'https://hooli.example/after',
        'https://hooli.example/after?from=evil',
        'https://hooli.example/after?from=verified#x',
        'javascript:alert(1)',
        'not a url',
      ]) {
        const refused = await call(platform, 'POST', '/1-click', key, { phone: freshPhone(), redirectUrl });
        assertOce(refused, 400, 'ERR001', "redirectUrl must be one of the brand's registered redirect URLs");
      }
      assert.equal(await flows(), before, 'no request was made for any of them');

      // The same URLs written differently are the same URLs.
      const post = await call(platform, 'POST', '/1-click', key, { phone: freshPhone(), redirectUrl: 'HTTPS://Hooli.Example:443/after?from=verified' });
      assert.equal(post.status, 201, JSON.stringify(post.body));
      // Anyone holding the link may decline before the code: the person lands on the registered URL.
      const declined = await platform.services.oneClick.decline(post.body.uuid);
      assert.equal(declined.redirectUrl, `https://hooli.example/after?from=verified&identityUuid=${post.body.uuid}&error=declined`);
      const byDefault = await call(platform, 'POST', '/1-click', key, { phone: freshPhone() });
      assert.equal((await platform.services.oneClick.decline(byDefault.body.uuid)).redirectUrl, `https://hooli.example/verified?identityUuid=${byDefault.body.uuid}&error=declined`);

      // A brand cannot register a URL with credentials in it either.
      await assert.rejects(
        platform.services.clients.update('hooli-hosted', { redirectUris: ['https://hooli.example@evil.example/'] }),
        (e: any) => e.code === 'validation_failed' && e.fields.some((f: any) => f.field === '/redirect_uris/0' && /without credentials/.test(f.message)),
      );
    });

    it('every 1-Click answer says Cache-Control: no-store: data, errors, the firewall', async () => {
      const post = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: freshPhone() });
      assert.equal(post.status, 201);
      const answers = [
        post,
        await call(platform, 'GET', `/1-click/${post.body.uuid}`, keys['hooli-non']),
        await call(platform, 'GET', `/v2/1-click/${post.body.uuid}`, keys['hooli-non']),
        await call(platform, 'PATCH', `/1-click/${post.body.uuid}`, keys['hooli-non'], { birthDate: '1989-08-01' }),
        await call(platform, 'GET', '/1-click/00000000-0000-4000-8000-000000000000', keys['hooli-non']),
        await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+10019999998', ssn4: '1234' }),
        await call(platform, 'POST', '/1-click', 'not-a-key', { phone: freshPhone() }),
        await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: freshPhone() }, { origin: 'https://shop.example' }),
      ];
      assert.deepEqual(answers.map((a) => a.status), [201, 200, 200, 400, 404, 400, 401, 418]);
      for (const answer of answers) assert.equal(answer.headers['cache-control'], 'no-store', JSON.stringify(answer.body));
    });

    // ── Every error code, provoked ─────────────────────────────────────────────────────

    it('OCE002: a number that is not E.164, not US, or (in production) not a valid number', async () => {
      for (const phone of ['12025550123', '+1 202 555 0123', '+447911123456', '+1202555012', 'hello']) {
        assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone }), 400, 'OCE002', 'Unsupported phone number to use 1-Click');
      }
      assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], { email: 'richard@piedpiper.net' }), 400, 'OCE002');
      // The sandbox accepts its own test numbers, which libphonenumber considers invalid; production does not.
      await brand('prod-non', 'non_hosted', 'production');
      assertOce(await call(platform, 'POST', '/1-click', keys['prod-non'], { phone: RICHARD }), 400, 'OCE002');
    });

    it('OCE003: neither phone nor email', async () => {
      assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], {}), 400, 'OCE003', "Either 'phone' or 'email' is required");
      assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '', email: null }), 400, 'OCE003');
    });

    it('OCE007: a mandatory "yes" credential that cannot be sourced fails the call and returns no data', async () => {
      const answer = await call(platform, 'POST', '/1-click', keys['hooli-non'], {
        phone: RICHARD,
        credentialRequests: [
          { type: 'FullNameCredential', children: [{ type: 'FirstNameCredential' }, { type: 'MiddleNameCredential', mandatory: 'yes' }] },
          { type: 'BirthDateCredential' },
        ],
      });
      assertOce(answer, 400, 'OCE007', 'Unable to use 1-click due to missing mandatory credentials');
      assert.ok(!JSON.stringify(answer.body).includes('Richard') && !JSON.stringify(answer.body).includes('1989'));
      // if_available and no: the call goes on without the missing part.
      const ok = await call(platform, 'POST', '/1-click', keys['hooli-non'], {
        phone: RICHARD,
        credentialRequests: [{ type: 'FullNameCredential', mandatory: 'if_available', children: [{ type: 'MiddleNameCredential', mandatory: 'if_available' }, { type: 'LastNameCredential' }] }, { type: 'GenderCredential' }],
      });
      assert.equal(ok.status, 201);
      assert.deepEqual(ok.body.identity.credentials, { fullName: { lastName: 'Hendricks' } });
      // Semi-Hosted: the same rule, after the code; the request then stays failed.
      const semi = await call(platform, 'POST', '/1-click', keys['hooli-semi'], { phone: freshPhone(), credentialRequests: [{ type: 'GenderCredential', mandatory: 'yes' }, { type: 'BirthDateCredential' }] });
      assertOce(await call(platform, 'GET', `/1-click/${semi.body.uuid}?code=${semi.body.code}`, keys['hooli-semi']), 400, 'OCE007');
      assertOce(await call(platform, 'GET', `/1-click/${semi.body.uuid}`, keys['hooli-semi']), 400, 'OCE007');
    });

    it('OCE008: a wrong code, and a right code after its 5 minutes; OCE018 after 3 attempts', async () => {
      const key = keys['hooli-semi'];
      const late = await call(platform, 'POST', '/1-click', key, { phone: freshPhone() });
      clock.advance(5 * MINUTE + 1000);
      assertOce(await call(platform, 'GET', `/1-click/${late.body.uuid}?code=${late.body.code}`, key), 400, 'OCE008');

      const post = await call(platform, 'POST', '/1-click', key, { phone: freshPhone() });
      const url = `/1-click/${post.body.uuid}`;
      const wrong = post.body.code === '000000' ? '000001' : '000000';
      for (let i = 0; i < 3; i++) assertOce(await call(platform, 'GET', `${url}?code=${wrong}`, key), 400, 'OCE008');
      assertOce(await call(platform, 'GET', `${url}?code=${post.body.code}`, key), 429, 'OCE018', 'Maximum code attempts exceeded. Please start a new 1-Click flow.');
      assertOce(await call(platform, 'GET', `${url}?code=${post.body.code}`, key), 429, 'OCE018');
    });

    it('OCE011 with additionalInputs, then PATCH (Semi-Hosted) or a new POST (Non-Hosted); OCE012 on a mismatch', async () => {
      // Non-Hosted: the documented test users.
      const expected: [string, string[]][] = [
        ['+10019999999', ['birthDate', 'ssn4']],
        ['+10019999997', ['birthDate']],
        ['+10019999996', ['ssn4']],
      ];
      for (const [phone, inputs] of expected) {
        const answer = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone });
        assertOce(answer, 400, 'OCE011', `Additional information is required to source data for user: ${inputs.join(', ')}`);
        assert.deepEqual(answer.body.data.additionalInputs, inputs);
        assert.equal(answer.body.data.riskSignals.overall.recommendation, 'allow');
      }
      const withInput = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+10019999999', ssn4: '6789' });
      assert.equal(withInput.status, 201);
      assert.equal(withInput.body.identity.credentials.fullName.firstName, 'Richard');
      const mismatch = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+10019999997', birthDate: '1979-01-01' });
      assertOce(mismatch, 400, 'OCE012', 'BirthDate mismatch.');
      assert.ok(mismatch.body.data.riskSignals);
      assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: RICHARD, ssn4: '1234' }), 400, 'OCE012', 'SSN4 mismatch.');
      assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+12225550009', birthDate: '1979-01-01', ssn4: '1234' }), 400, 'OCE012', 'BirthDate mismatch and SSN4 mismatch.');
      assert.equal((await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: RICHARD, birthDate: '1989-08-01', ssn4: '6789' })).status, 201);

      // Semi-Hosted: OCE011 comes after the code; PATCH gives the input.
      const key = keys['hooli-semi'];
      const post = await call(platform, 'POST', '/1-click', key, { phone: '+10019999997' });
      const url = `/1-click/${post.body.uuid}`;
      assertOce(await call(platform, 'PATCH', url, key, { birthDate: '1989-08-01' }), 400, 'OCE009');
      const needs = await call(platform, 'GET', `${url}?code=111111`, key);
      assertOce(needs, 400, 'OCE011');
      assert.deepEqual(needs.body.data.additionalInputs, ['birthDate']);
      assertOce(await call(platform, 'GET', url, key), 400, 'OCE011');
      assertOce(await call(platform, 'PATCH', url, key, { birthDate: '1979-01-01' }), 400, 'OCE012', 'BirthDate mismatch.');
      const patched = await call(platform, 'PATCH', url, key, { birthDate: '1989-08-01' });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.credentials.birthDate, '1989-08-01');
      assert.deepEqual((await call(platform, 'GET', url, key)).body, patched.body);
      // PATCH belongs to Semi-Hosted only.
      const non = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+12225550008' });
      assertOce(await call(platform, 'PATCH', `/1-click/${non.body.uuid}`, keys['hooli-non'], { birthDate: '1989-08-01' }), 400, 'OCE001');
    });

    it('OCE013: the documented user found only after input gives nothing; production finds nobody for an unknown phone', async () => {
      assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+10019999998' }), 400, 'OCE011');
      const none = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+10019999998', birthDate: '1970-01-01' });
      assertOce(none, 400, 'OCE013', 'No credentials found');
      assert.ok(none.body.data.riskSignals);
      await brand('prod-non-2', 'non_hosted', 'production');
      assertOce(await call(platform, 'POST', '/1-click', keys['prod-non-2'], { phone: '+12025550143' }), 400, 'OCE013');
    });

    it('OCE014 after the request lifetime (30 min), OCE015 for unknown, another client\'s, or purged requests', async () => {
      const key = keys['hooli-semi'];
      const post = await call(platform, 'POST', '/1-click', key, { phone: freshPhone() });
      const url = `/1-click/${post.body.uuid}`;
      clock.advance(29 * MINUTE);
      assertOce(await call(platform, 'PATCH', url, key, { birthDate: '1989-08-01' }), 400, 'OCE009', undefined);
      clock.advance(MINUTE + 1000);
      assertOce(await call(platform, 'GET', `${url}?code=${post.body.code}`, key), 410, 'OCE014', '1-Click Request Expired');
      assertOce(await call(platform, 'PATCH', url, key, { birthDate: '1989-08-01' }), 410, 'OCE014');
      await platform.services.flows.purgeExpired(clock.now());
      assertOce(await call(platform, 'GET', url, key), 404, 'OCE015', '1-Click Not Found');

      assertOce(await call(platform, 'GET', '/1-click/535dba63-d4bd-442a-b3f6-21b785260a08', key), 404, 'OCE015');
      assertOce(await call(platform, 'GET', '/1-click/not-a-uuid', key), 404, 'OCE015');
      const mine = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: freshPhone() });
      assertOce(await call(platform, 'GET', `/1-click/${mine.body.uuid}`, keys['hooli-semi']), 404, 'OCE015');
    });

    it('OCE016: a second request for a phone with one open; free again once it ends or its code lapses', async () => {
      const key = keys['hooli-semi'];
      const phone = freshPhone();
      const first = await call(platform, 'POST', '/1-click', key, { phone });
      assertOce(await call(platform, 'POST', '/1-click', key, { phone }), 409, 'OCE016', '1-Click Conflict Request for this Phone Number, Please Try Again');
      // One brand's open request does not block another brand (nor may one operator hold a person's phone against others).
      assert.equal((await call(platform, 'POST', '/1-click', keys['hooli-hosted'], { phone })).status, 201);
      assert.equal((await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone })).status, 201);
      assert.equal((await call(platform, 'GET', `/1-click/${first.body.uuid}?code=${first.body.code}`, key)).status, 200);
      const second = await call(platform, 'POST', '/1-click', key, { phone });
      assert.equal(second.status, 201);
      clock.advance(5 * MINUTE + 1000);
      assert.equal((await call(platform, 'POST', '/1-click', key, { phone })).status, 201, 'an abandoned request holds the phone only while its code lives');
    });

    it('OCE017: the risk-block test user, with riskSignals; allow and flag users carry theirs in metadata', async () => {
      for (const key of [keys['hooli-non'], keys['hooli-semi'], keys['hooli-hosted']]) {
        const answer = await call(platform, 'POST', '/1-click', key, { phone: '+15555550002' });
        assertOce(answer, 400, 'OCE017', '1-Click Blocked: Risk Score Too High');
        assert.deepEqual(answer.body.data.riskSignals, { overall: { score: 850, level: 'high', recommendation: 'block' } });
      }
      const allow = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+15555550000' });
      assert.equal(allow.body.identity.metadata.identifiers.riskSignals.overall.recommendation, 'allow');
      const flag = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+15555550001' });
      assert.deepEqual(flag.body.identity.metadata.identifiers.riskSignals, { overall: { score: 463, level: 'medium', recommendation: 'flag' } });
    });

    it('OCE019: a fourth wrong birth date for a phone is refused, across new requests, with inputAttemptsExceeded', async () => {
      const phone = '+12225550007';
      for (let i = 0; i < 3; i++) assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone, birthDate: `1970-01-0${i + 1}` }), 400, 'OCE012');
      const blocked = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone, birthDate: '1989-08-01' });
      assertOce(blocked, 429, 'OCE019', 'Maximum input attempts exceeded. Please try again later.');
      assert.deepEqual(blocked.body.data.inputAttemptsExceeded, ['birthDate']);
      // SSN4 has its own count; the phone alone still works.
      assert.equal((await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone, ssn4: '6789' })).status, 201);
      assert.equal((await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone })).status, 201);
      clock.advance(31 * MINUTE);
      assert.ok((await platform.services.oneClick.purgeExpired()) >= 1, 'counts past their window are purged');
      assert.equal((await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone, birthDate: '1989-08-01' })).status, 201, 'the window ends');
    });

    it('OCE019 counts per brand and environment: one brand\'s wrong inputs, or the sandbox\'s, never refuse another brand or production', async () => {
      const phone = '+12025550133';
      const user = await platform.services.users.create({ phone });
      await platform.services.wallet.add(user.id, [{ type: 'birthDate', value: '1950-05-05', verificationMethod: 'document' }]);
      await brand('lockout-sandbox', 'non_hosted', 'sandbox');
      await brand('other-sandbox', 'non_hosted', 'sandbox');
      await brand('lockout-prod', 'non_hosted', 'production');
      // A sandbox brand compares with mock data (1989-08-01): three misses, then OCE019 for it.
      for (let i = 1; i <= 3; i++) assertOce(await call(platform, 'POST', '/1-click', keys['lockout-sandbox'], { phone, birthDate: `1970-01-0${i}` }), 400, 'OCE012');
      assertOce(await call(platform, 'POST', '/1-click', keys['lockout-sandbox'], { phone, birthDate: '1989-08-01' }), 429, 'OCE019');
      // Another sandbox brand, and a production brand, are not refused for it.
      assert.equal((await call(platform, 'POST', '/1-click', keys['other-sandbox'], { phone, birthDate: '1989-08-01' })).status, 201);
      const prod = await call(platform, 'POST', '/1-click', keys['lockout-prod'], { phone, birthDate: '1950-05-05' });
      assert.equal(prod.status, 201, JSON.stringify(prod.body));
      assert.equal(prod.body.identity.credentials.birthDate, '1950-05-05');
      // The locked-out brand itself, once switched to production (same client, same key), starts afresh.
      await platform.services.clients.update('lockout-sandbox', { oneClick: { environment: 'production' } });
      platform.services.apiKeys.forgetCached();
      assert.equal((await call(platform, 'POST', '/1-click', keys['lockout-sandbox'], { phone, birthDate: '1950-05-05' })).status, 201);
      // A production brand's own misses still count for it, across new requests.
      for (let i = 1; i <= 3; i++) assertOce(await call(platform, 'POST', '/1-click', keys['lockout-prod'], { phone, birthDate: `1971-01-0${i}` }), 400, 'OCE012');
      assertOce(await call(platform, 'POST', '/1-click', keys['lockout-prod'], { phone, birthDate: '1950-05-05' }), 429, 'OCE019');
      const rows = await platform.services.db.query<{ client_id: string; environment: string; failures: number }>(
        "select client_id, environment, failures from one_click_input_failures where client_id like 'lockout-%' order by client_id",
      );
      assert.deepEqual(rows.map((r) => [r.client_id, r.environment, r.failures]), [['lockout-prod', 'production', 3], ['lockout-sandbox', 'sandbox', 3]]);
    });

    it('birth_date_format unix_ms: birthDate is Unix milliseconds in every answer (noon UTC, the same day everywhere) and is accepted in requests', async () => {
      const NOON = String(Date.UTC(1989, 7, 1, 12)); // 617976000000
      const MIDNIGHT_NEW_YORK = '617947200000'; // Verified's documented example
      const ms = await brand('hooli-non-ms', 'non_hosted', 'sandbox', { birthDateFormat: 'unix_ms' });
      const semiMs = await brand('hooli-semi-ms', 'semi_hosted', 'sandbox', { birthDateFormat: 'unix_ms' });
      const hostedMs = await brand('hooli-hosted-ms', 'hosted', 'sandbox', { birthDateFormat: 'unix_ms' });

      const post = await call(platform, 'POST', '/1-click', ms, { phone: RICHARD });
      assert.equal(post.body.identity.credentials.birthDate, NOON);
      // What Verified's example app does with it: new Date(Number(x)), shown in the reader's zone.
      for (const timeZone of ['America/Los_Angeles', 'America/New_York', 'Pacific/Honolulu', 'UTC', 'Europe/Berlin', 'Asia/Tokyo']) {
        assert.equal(new Date(Number(post.body.identity.credentials.birthDate)).toLocaleDateString('en-CA', { timeZone }), '1989-08-01', timeZone);
      }
      assert.equal(post.body.identity.metadata.credentials.verificationMethod.birthDate, 'credit_bureau');
      assert.equal((await call(platform, 'GET', `/1-click/${post.body.uuid}`, ms)).body.credentials.birthDate, NOON);
      // Several values are each in the format; the operator's own value, sent as milliseconds, too.
      const multi = await call(platform, 'POST', '/1-click', ms, { phone: freshPhone(), birthDate: MIDNIGHT_NEW_YORK, credentialRequests: [{ type: 'BirthDateCredential', multi: true }] });
      assert.equal(multi.status, 201, JSON.stringify(multi.body));
      assert.deepEqual(multi.body.identity.credentials.birthDate, [NOON]);
      assertOce(await call(platform, 'POST', '/1-click', ms, { phone: freshPhone(), birthDate: String(Date.UTC(1970, 0, 1)) }), 400, 'OCE012');
      assertOce(await call(platform, 'POST', '/1-click', ms, { phone: freshPhone(), birthDate: '1e12' }), 400, 'ERR001');

      // Semi-Hosted: OCE011, then PATCH with milliseconds; the answer in milliseconds.
      const semi = await call(platform, 'POST', '/1-click', semiMs, { phone: '+10019999997' });
      assertOce(await call(platform, 'GET', `/1-click/${semi.body.uuid}?code=111111`, semiMs), 400, 'OCE011');
      const patched = await call(platform, 'PATCH', `/1-click/${semi.body.uuid}`, semiMs, { birthDate: MIDNIGHT_NEW_YORK });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.credentials.birthDate, NOON);
      assert.equal((await call(platform, 'GET', `/1-click/${semi.body.uuid}`, semiMs)).body.credentials.birthDate, NOON);

      // Hosted: what the person shared, read by the brand.
      const hosted = await call(platform, 'POST', '/1-click', hostedMs, { phone: freshPhone(), credentialRequests: [{ type: 'BirthDateCredential' }] });
      const review = await platform.services.oneClick.submitCode(hosted.body.uuid, hosted.body.code);
      await platform.services.oneClick.share(hosted.body.uuid, {}, review.personToken);
      assert.deepEqual((await call(platform, 'GET', `/1-click/${hosted.body.uuid}`, hostedMs)).body.credentials, { birthDate: NOON });

      // The default stays YYYY-MM-DD, and reads milliseconds as well.
      const iso = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: freshPhone(), birthDate: MIDNIGHT_NEW_YORK });
      assert.equal(iso.body.identity.credentials.birthDate, '1989-08-01');
    });

    it('malformed requests are ERR001 (400) in the same body', async () => {
      const bad = [
        { phone: RICHARD, credentialRequests: [{ mandatory: 'yes' }] },
        { phone: RICHARD, credentialRequests: [{ type: 'fullName' }] },
        { phone: RICHARD, credentialRequests: [{ type: 'BirthDateCredential', mandatory: 'always' }] },
        { phone: RICHARD, birthDate: '08/01/1989' },
        { phone: RICHARD, ssn4: '67' },
        { phone: RICHARD, content: { title: 'Welcome' } },
        { phone: RICHARD, credentialRequests: [{ type: 'BirthDateCredential' }, { type: 'BirthDateCredential' }] },
      ];
      for (const body of bad) assertOce(await call(platform, 'POST', '/1-click', keys['hooli-non'], body), 400, 'ERR001');
      const notJson = await platform.app.inject({ method: 'POST', url: '/1-click', headers: { authorization: keys['hooli-non']!, 'content-type': 'application/json' }, payload: '{' });
      assertOce({ status: notJson.statusCode, headers: notJson.headers, body: notJson.json() }, 400, 'ERR001');
      assertOce(await call(platform, 'POST', '/1-click', keys['hooli-hosted'], { phone: freshPhone(), redirectUrl: 'http://evil.example/' }), 400, 'ERR001');
    });

    // ── Authentication ─────────────────────────────────────────────────────────────────

    it('the API key is the whole Authorization header or a Bearer token; Origin (a browser) gets 418; rotation works', async () => {
      const key = keys['hooli-non']!;
      assert.equal((await call(platform, 'POST', '/1-click', `Bearer ${key}`, { phone: freshPhone() })).status, 201);
      const fromBrowser = await call(platform, 'POST', '/1-click', key, { phone: freshPhone() }, { origin: 'https://hooli.example' });
      assert.equal(fromBrowser.status, 418);
      assert.equal(fromBrowser.body.error, 'Request blocked by firewall');
      assert.match(fromBrowser.body.message, /API key is being used client side/);
      assert.equal((await call(platform, 'GET', '/1-click/535dba63-d4bd-442a-b3f6-21b785260a08', key, undefined, { origin: 'null' })).status, 418);

      assertOce(await call(platform, 'POST', '/1-click', undefined, { phone: RICHARD }), 401, 'ERR001');
      assertOce(await call(platform, 'POST', '/1-click', 'yVg3LEnF08y0MDmpHcPxB+sZWFcDARmPRKdY2M906ng=', { phone: RICHARD }), 401, 'ERR001');
      assertOce(await call(platform, 'GET', '/1-click/535dba63-d4bd-442a-b3f6-21b785260a08', 'nope'), 401, 'ERR001');

      const { apiKeys } = platform.services;
      const second = await apiKeys.create('hooli-non');
      assert.match(second.key, /^[A-Za-z0-9+/]{43}=$/);
      for (const k of [key, second.key]) assert.equal((await call(platform, 'POST', '/1-click', k, { phone: freshPhone() })).status, 201);
      const [first] = await apiKeys.list('hooli-non');
      await apiKeys.revoke('hooli-non', first!.id);
      assertOce(await call(platform, 'POST', '/1-click', key, { phone: freshPhone() }), 401, 'ERR001');
      assert.equal((await call(platform, 'POST', '/1-click', second.key, { phone: freshPhone() })).status, 201);
      keys['hooli-non'] = second.key;
      const listed = await apiKeys.list('hooli-non');
      assert.deepEqual(listed.map((k) => Boolean(k.revokedAt)), [true, false]);
      assert.equal(listed[1]!.prefix, second.key.slice(0, 8));
      const stored = await platform.services.db.query<{ key_hash: string }>('select key_hash from api_keys');
      assert.ok(!JSON.stringify(stored).includes(second.key), 'only hashes are stored');

      // A client that is not a 1-Click brand cannot use the API.
      await platform.services.clients.save({ clientId: 'plain-oauth', name: 'Plain', redirectUris: ['https://plain.example/cb'] });
      const plainKey = (await apiKeys.create('plain-oauth')).key;
      assertOce(await call(platform, 'POST', '/1-click', plainKey, { phone: RICHARD }), 403, 'OCE020');
    });

    // ── The sandbox directory, against the documented table ─────────────────────────────

    it('reproduces every documented sandbox test user', async () => {
      const key = keys['hooli-non'];
      const addresses = [];
      for (let i = 0; i <= 9; i++) {
        const answer = await call(platform, 'POST', '/1-click', key, { phone: `+1222555000${i}`, credentialRequests: [{ type: 'AddressCredential' }] });
        assert.equal(answer.status, 201);
        addresses.push(answer.body.identity.credentials.address);
      }
      assert.equal(new Set(addresses.map((a) => JSON.stringify(a))).size, 10, 'ten different addresses');
      assert.equal(new Set(addresses.map((a) => a.state)).size, 10, 'in ten states');
      for (const a of addresses) {
        assert.equal(a.country, 'US');
        assert.match(a.zipCode, /^\d{5}$/);
        assert.match(a.state, /^[A-Z]{2}$/);
        assert.notEqual(a.state, 'PR');
      }
      const pr = await call(platform, 'POST', '/1-click', key, { phone: '+12225550010', credentialRequests: [{ type: 'AddressCredential' }] });
      assert.deepEqual(pr.body.identity.credentials.address, { line1: '3167 Av Roosevelt', city: 'Ponce', state: 'PR', zipCode: '00717', country: 'US' });
      const minor = await call(platform, 'POST', '/1-click', key, { phone: '+12225550012' });
      assert.equal(minor.body.identity.credentials.birthDate, '2017-01-01');
      assertOce(await call(platform, 'POST', '/1-click', key, { phone: '+12225550012', birthDate: '1989-08-01' }), 400, 'OCE012');
      const richard = await call(platform, 'POST', '/1-click', key, { phone: RICHARD, credentialRequests: [{ type: 'EmailCredential' }, { type: 'FullNameCredential' }] });
      assert.deepEqual(richard.body.identity.credentials, { email: 'richard@piedpiper.net', fullName: { firstName: 'Richard', lastName: 'Hendricks' } });
      // Every test user shares code 111111 (Semi-Hosted shows it).
      for (const phone of ['+15555550000', '+10019999996', '+12225550012']) {
        const semi = await call(platform, 'POST', '/1-click', keys['hooli-semi'], { phone });
        assert.equal(semi.body.code, '111111');
      }
    });

    // ── What is returned ───────────────────────────────────────────────────────────────

    it('returns only the credentials requested; multi values are always arrays, at most three, with metadata in the same order', async () => {
      const key = keys['hooli-non'];
      const only = await call(platform, 'POST', '/1-click', key, { phone: RICHARD, credentialRequests: [{ type: 'BirthDateCredential' }] });
      assert.deepEqual(only.body.identity.credentials, { birthDate: '1989-08-01' });
      for (const m of Object.values(only.body.identity.metadata.credentials)) assert.deepEqual(Object.keys(m as object), ['birthDate']);
      const leaf = await call(platform, 'POST', '/1-click', key, { phone: RICHARD, credentialRequests: [{ type: 'LastNameCredential' }, { type: 'ZipCodeCredential' }] });
      assert.deepEqual(leaf.body.identity.credentials, { lastName: 'Hendricks', zipCode: '94303' });

      const multi = await call(platform, 'POST', '/1-click', key, {
        phone: RICHARD,
        email: 'rich@hooli.example',
        credentialRequests: [
          { type: 'EmailCredential', multi: true },
          { type: 'AddressCredential', multi: true, children: [{ type: 'Line1Credential' }, { type: 'Line2Credential' }, { type: 'CityCredential', multi: true }] },
          { type: 'BirthDateCredential', multi: true },
        ],
      });
      const { credentials, metadata } = multi.body.identity;
      assert.deepEqual(credentials.email, ['richard@piedpiper.net', 'richard@hooli.com', 'rich@hooli.example']);
      assert.deepEqual(metadata.credentials.verificationMethod.email, ['credit_bureau', 'credit_bureau', 'self_attested']);
      assert.deepEqual(credentials.address, [
        { line1: '5320 Newell Rd', city: 'Palo Alto' },
        { line1: '9536 Meadow Dr', line2: 'Apt 301', city: 'San Francisco' },
        { line1: '7292 Hanover St', city: 'San Jose' },
      ]);
      assert.deepEqual(credentials.birthDate, ['1989-08-01'], 'a single value is still an array');
      for (const k of Object.keys(metadata.credentials)) assertMirrors(credentials, metadata.credentials[k], k);
      const one = await call(platform, 'POST', '/1-click', key, { phone: '+12225550003', credentialRequests: [{ type: 'AddressCredential', multi: true }] });
      assert.equal(one.body.identity.credentials.address.length, 1);
    });

    it('the operator\'s email and birth date come back self_attested when nothing better is known', async () => {
      await brand('prod-semi', 'semi_hosted', 'production');
      const user = await platform.services.users.create({ phone: '+12025550177' });
      await platform.services.wallet.add(user.id, [{ type: 'fullName', value: { firstName: 'Ada', lastName: 'Lovelace' }, verificationMethod: 'document' }]);
      const post = await call(platform, 'POST', '/1-click', keys['prod-semi'], {
        phone: '+12025550177',
        email: 'ada@example.com',
        birthDate: '1815-12-10',
        credentialRequests: [{ type: 'EmailCredential' }, { type: 'BirthDateCredential' }, { type: 'FullNameCredential' }],
      });
      const get = await call(platform, 'GET', `/1-click/${post.body.uuid}?code=${post.body.code}`, keys['prod-semi']);
      assert.equal(get.status, 200);
      assert.deepEqual(get.body.credentials, { email: 'ada@example.com', birthDate: '1815-12-10', fullName: { firstName: 'Ada', lastName: 'Lovelace' } });
      assert.deepEqual(get.body.metadata.credentials.verificationMethod, { email: 'self_attested', birthDate: 'self_attested', fullName: { firstName: 'document', lastName: 'document' } });
    });

    // ── The identity wallet as the source (production) ───────────────────────────────────

    it('finds a person\'s wallet by phone, returns the credentials with their real provenance, and records the consent', async () => {
      const phone = '+14155552671';
      const user = await platform.services.users.create({ phone, email: 'grace@example.com' });
      const expires = new Date(clock.now().getTime() + 365 * 86_400_000);
      const [name, birth, address] = await platform.services.wallet.add(user.id, [
        { type: 'fullName', value: { firstName: 'Grace', middleName: 'Brewster', lastName: 'Hopper' }, verificationMethod: 'document', sourceClientId: 'kyc-bank', expiresAt: expires },
        { type: 'birthDate', value: '1906-12-09', verificationMethod: 'document', sourceClientId: 'kyc-bank' },
        { type: 'address', value: { line1: '1 Navy Way', city: 'Arlington', state: 'VA', zipCode: '22202', country: 'US' }, verificationMethod: 'electronic_record', sourceClientId: 'kyc-bank' },
        { type: 'ssn', value: '987654321', verificationMethod: 'electronic_record', sourceClientId: 'kyc-bank' },
      ]);
      await brand('prod-non-3', 'non_hosted', 'production');
      const key = keys['prod-non-3'];
      assertOce(await call(platform, 'POST', '/1-click', key, { phone, birthDate: '1906-12-10' }), 400, 'OCE012');
      const post = await call(platform, 'POST', '/1-click', key, {
        phone,
        birthDate: '1906-12-09',
        credentialRequests: [{ type: 'FullNameCredential' }, { type: 'BirthDateCredential' }, { type: 'AddressCredential' }, { type: 'PhoneCredential' }],
      });
      assert.equal(post.status, 201);
      const { credentials, metadata } = post.body.identity;
      assert.deepEqual(credentials, {
        fullName: { firstName: 'Grace', middleName: 'Brewster', lastName: 'Hopper' },
        birthDate: '1906-12-09',
        address: { line1: '1 Navy Way', city: 'Arlington', state: 'VA', zipCode: '22202', country: 'US' },
        phone,
      });
      assert.equal('ssn' in credentials, false, 'not requested, not returned');
      assert.deepEqual(metadata.credentials.id.fullName, { firstName: name!.id, middleName: name!.id, lastName: name!.id });
      assert.equal(metadata.credentials.id.birthDate, birth!.id);
      assert.equal(metadata.credentials.id.address.city, address!.id);
      assert.deepEqual(metadata.credentials.verificationMethod, {
        fullName: { firstName: 'document', middleName: 'document', lastName: 'document' },
        birthDate: 'document',
        address: { line1: 'electronic_record', city: 'electronic_record', state: 'electronic_record', zipCode: 'electronic_record', country: 'electronic_record' },
        phone: 'customer_otp',
      });
      assert.equal(metadata.credentials.expirationDate.fullName.firstName, String(expires.getTime()));
      assert.equal(metadata.credentials.expirationDate.birthDate, null);
      assert.equal(metadata.identifiers.riskSignals, undefined, 'no risk engine, no made-up signals');

      const consents = await platform.services.consents.ofPerson(user.id);
      const consent = consents.find((c) => c.flowId === post.body.uuid);
      assert.ok(consent, 'a consent names the request');
      assert.equal(consent.clientId, 'prod-non-3');
      assert.deepEqual(new Set(consent.credentialIds), new Set([name!.id, birth!.id, address!.id]));

      // Semi-Hosted in production: the consent comes with the person's code.
      await brand('prod-semi-2', 'semi_hosted', 'production');
      const semi = await call(platform, 'POST', '/1-click', keys['prod-semi-2'], { phone, credentialRequests: [{ type: 'SsnCredential' }] });
      assert.match(semi.body.code, /^\d{6}$/);
      assert.notEqual(semi.body.code, '111111');
      const got = await call(platform, 'GET', `/1-click/${semi.body.uuid}?code=${semi.body.code}`, keys['prod-semi-2']);
      assert.equal(got.body.credentials.ssn, '987654321');
      assert.equal(got.body.metadata.credentials.verificationMethod.ssn, 'electronic_record');
      assert.ok((await platform.services.consents.ofPerson(user.id)).some((c) => c.flowId === semi.body.uuid && c.clientId === 'prod-semi-2'));
    });

    it('records each share from a wallet as one consent: the door, the person, the client and the entity\'s fields by name, never their values', async () => {
      const phone = '+14155550123';
      const user = await platform.services.users.create({ phone });
      await platform.services.wallet.add(user.id, [
        { type: 'fullName', value: { firstName: 'Katherine', lastName: 'Johnson' }, verificationMethod: 'document' },
        { type: 'birthDate', value: '1918-08-26', verificationMethod: 'document' },
      ]);
      await brand('prod-non-consent', 'non_hosted', 'production');
      const post = await call(platform, 'POST', '/1-click', keys['prod-non-consent'], {
        phone,
        birthDate: '1918-08-26',
        credentialRequests: [{ type: 'FullNameCredential' }, { type: 'BirthDateCredential' }],
      });
      assert.equal(post.status, 201);

      const consents = await platform.services.consents.list({ clientId: 'prod-non-consent' });
      assert.equal(consents.length, 1);
      const consent = consents[0]!;
      assert.equal(consent.door, 'one_click');
      assert.equal(consent.userId, user.id);
      assert.equal(consent.flowId, post.body.uuid);
      assert.deepEqual(new Set(consent.shared), new Set(['phone', ...Object.keys(post.body.identity.credentials)]));
      assert.ok(consent.shared.includes('fullName') && consent.shared.includes('birthDate'));
      const [row] = await platform.services.db.query('select * from consents where id = $1', [consent.id]);
      assert.ok(!/Katherine|1918|4155550123/.test(JSON.stringify(row)), 'the record names fields, never their values');

      // A sandbox brand hands over the directory's made-up people: no person's data, no record.
      const sandbox = await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: RICHARD });
      assert.equal(sandbox.status, 201);
      assert.deepEqual(await platform.services.consents.list({ clientId: 'hooli-non' }), []);
    });

    it('keeps personal data sealed: flow rows, locks and counters hold no phone, birth date or code in clear', async () => {
      const phone = '+12025550199';
      const post = await call(platform, 'POST', '/1-click', keys['hooli-semi'], { phone, birthDate: '1989-08-01', email: 'sealed@example.com' });
      await call(platform, 'GET', `/1-click/${post.body.uuid}?code=${post.body.code}`, keys['hooli-semi']);
      await call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+12025550198', birthDate: '1999-01-01' });
      const dump = JSON.stringify([
        await platform.services.db.query('select * from flows'),
        await platform.services.db.query('select * from one_click_phone_locks'),
        await platform.services.db.query('select * from one_click_input_failures'),
        await platform.services.db.query("select * from events where type like 'one_click%'"),
      ]);
      for (const secret of ['2025550199', '2025550198', '1989-08-01', '1999-01-01', 'sealed@example.com', 'Hendricks', '123456789']) {
        assert.ok(!dump.includes(secret), `${secret} is in clear`);
      }
      assert.ok(!dump.includes(`"${post.body.code}"`));
    });

    // ── Concurrency ────────────────────────────────────────────────────────────────────

    it('two simultaneous requests for one phone: exactly one starts', async () => {
      const phone = freshPhone();
      const answers = await Promise.all([0, 1].map(() => call(platform, 'POST', '/1-click', keys['hooli-semi'], { phone })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409]);
      assert.equal(answers.find((a) => a.status === 409)!.body.data.errorCode, 'OCE016');
    });

    it('parallel wrong birth dates cannot pass the input limit: Non-Hosted calls with inputs hold the phone', async () => {
      const phone = '+12225550005';
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => call(platform, 'POST', '/1-click', keys['hooli-non'], { phone, birthDate: `1960-02-${String(i + 10)}` })),
      );
      const codes = answers.map((a) => a.body.data?.errorCode);
      assert.ok(codes.every((c) => ['OCE012', 'OCE016', 'OCE019'].includes(c)), codes.join(' '));
      assert.ok(codes.filter((c) => c === 'OCE012').length <= 3, `at most 3 guesses judged, got ${codes.join(' ')}`);
      // Phone-only calls are decided within the call and do not block each other.
      const plain = await Promise.all([0, 1].map(() => call(platform, 'POST', '/1-click', keys['hooli-non'], { phone: '+12225550006' })));
      assert.deepEqual(plain.map((a) => a.status), [201, 201]);
    });

    it('two simultaneous GETs with the right code: exactly one gets the data, and one consent is recorded', async () => {
      await brand('prod-semi-race', 'semi_hosted', 'production');
      const phone = '+12025550166';
      const user = await platform.services.users.create({ phone });
      await platform.services.wallet.add(user.id, [{ type: 'birthDate', value: '1950-05-05', verificationMethod: 'document' }]);
      for (let round = 0; round < 3; round++) {
        const post = await call(platform, 'POST', '/1-click', keys['prod-semi-race'], { phone });
        const url = `/1-click/${post.body.uuid}?code=${post.body.code}`;
        const answers = await Promise.all([0, 1].map(() => call(platform, 'GET', url, keys['prod-semi-race'])));
        const winners = answers.filter((a) => a.status === 200);
        assert.equal(winners.length, 1, `one winner, got ${answers.map((a) => `${a.status} ${a.body?.data?.errorCode ?? ''}`).join(', ')}`);
        const loser = answers.find((a) => a.status !== 200)!;
        assert.ok(['OCE016', 'OCE008'].includes(loser.body.data.errorCode));
        const consents = (await platform.services.consents.ofPerson(user.id)).filter((c) => c.flowId === post.body.uuid);
        assert.equal(consents.length, 1);
      }
    });

    it('is described in /openapi.json under the verified-1click tag', async () => {
      const doc = (await platform.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      for (const path of ['/1-click', '/1-click/{uuid}', '/v2/1-click', '/v2/1-click/{uuid}']) assert.ok(doc.paths[path], `${path} documented`);
      assert.deepEqual(doc.paths['/1-click'].post.tags, ['verified-1click']);
      assert.ok(doc.paths['/1-click'].post.responses['201']);
      assert.ok(doc.paths['/1-click/{uuid}'].get.responses['200']);
      assert.ok(doc.paths['/1-click/{uuid}'].patch.requestBody);
    });

    it('texts the code itself when the brand opts in (never to sandbox test numbers), within the send limits', async () => {
      await brand('sms-semi', 'semi_hosted', 'sandbox', { sendSms: true, displayName: 'Hooli' });
      await brand('sms-hosted', 'hosted', 'sandbox', { sendSms: true, displayName: 'Hooli' });
      const outbox = platform.services.smsOutbox!;
      const phone = freshPhone();
      const post = await call(platform, 'POST', '/1-click', keys['sms-semi'], { phone });
      assert.deepEqual(outbox.messagesFor(phone).map((m) => m.text), [`Enter this code to verify for Hooli: ${post.body.code}`]);
      await call(platform, 'GET', `/1-click/${post.body.uuid}?code=${post.body.code}`, keys['sms-semi']);
      const hosted = await call(platform, 'POST', '/1-click', keys['sms-hosted'], { phone });
      assert.equal(outbox.messagesFor(phone).at(-1)!.text, `Enter this code to verify for Hooli: ${hosted.body.code}\n${hosted.body.url}&code=${hosted.body.code}`);
      await call(platform, 'POST', '/1-click', keys['sms-semi'], { phone: RICHARD });
      assert.equal(outbox.messagesFor(RICHARD).length, 0, 'test numbers do not exist');
      // The per-phone limit (3 per 10 minutes by default) ends the request and frees the phone.
      const third = await call(platform, 'POST', '/1-click', keys['sms-semi'], { phone });
      await call(platform, 'GET', `/1-click/${third.body.uuid}?code=${third.body.code}`, keys['sms-semi']);
      const limited = await call(platform, 'POST', '/1-click', keys['sms-semi'], { phone });
      assertOce(limited, 429, 'OCE001');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      assert.equal(outbox.messagesFor(phone).length, 3);
    });

    it('imports 1-Click brands and their API keys from the declarative file, idempotently', async () => {
      const { applyImport } = await import('../src/provisioning/import-file.ts');
      const apiKey = 'imported-key-0123456789abcdefghijklmnopqrstuvwxyz';
      const doc = {
        clients: [
          {
            client_id: 'imported-brand',
            name: 'Imported Brand',
            integration: 'non_hosted',
            environment: 'sandbox',
            default_redirect_url: 'https://imported.example/done',
            one_click: { title: 'Apply', display_name: 'Imported', send_sms: false, default_credential_requests: [{ type: 'BirthDateCredential', mandatory: 'yes' }] },
            api_keys: [apiKey],
          },
        ],
      };
      await applyImport(platform.services, doc);
      await applyImport(platform.services, doc);
      assert.equal((await platform.services.apiKeys.list('imported-brand')).length, 1);
      const client = await platform.services.clients.find('imported-brand');
      assert.deepEqual(client!.metadata.one_click, {
        integration: 'non_hosted',
        environment: 'sandbox',
        default_redirect_url: 'https://imported.example/done',
        title: 'Apply',
        display_name: 'Imported',
        default_credential_requests: [{ type: 'BirthDateCredential', mandatory: 'yes' }],
        send_sms: false,
        birth_date_format: 'iso',
      });
      assert.deepEqual(client!.metadata.grant_types, [], 'an API-only brand has no OAuth grant');
      const post = await call(platform, 'POST', '/1-click', apiKey, { phone: RICHARD });
      assert.deepEqual(post.body.identity.credentials, { birthDate: '1989-08-01' }, 'the brand default credential requests apply');
      await assert.rejects(
        applyImport(platform.services, { clients: [{ client_id: 'bad-brand', integration: 'fully_hosted', one_click: { default_credential_requests: [{ type: 'nope' }] } }] }),
        (e: any) => /integration/.test(e.message) && /default_credential_requests/.test(e.message),
      );
      await assert.rejects(applyImport(platform.services, { clients: [{ client_id: 'short-key', integration: 'hosted', api_keys: ['short'] }] }), /api_keys: each key must be 32-256 characters/);
    });

    it('answers under /v2 too, the same way', async () => {
      const post = await call(platform, 'POST', '/v2/1-click', keys['hooli-non'], { phone: '+12225550004' });
      assert.equal(post.status, 201);
      const get = await call(platform, 'GET', `/v2/1-click/${post.body.uuid}`, keys['hooli-non']);
      assert.deepEqual(get.body, post.body.identity);
    });
  });
}

describe('idflow client commands for 1-Click brands and API keys', () => {
  let dir: string;
  const ROOT = fileURLToPath(new URL('..', import.meta.url));
  const idflow = async (...args: string[]) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/idflow.mjs'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', IDFLOW_DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const [status] = (await once(child, 'close')) as [number];
    return { status, stdout, stderr };
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idflow-one-click-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('create --integration … --api-key prints the key once; api-key create, list and revoke rotate it', async () => {
    const created = await idflow('client', 'create', '--name', 'Hooli', '--client-id', 'hooli', '--integration', 'semi_hosted', '--environment', 'sandbox', '--default-redirect-url', 'https://hooli.example/cb', '--api-key', '--json');
    assert.equal(created.status, 0, created.stderr);
    const out = JSON.parse(created.stdout);
    assert.match(out.api_key, /^[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(out.one_click, { integration: 'semi_hosted', environment: 'sandbox', default_redirect_url: 'https://hooli.example/cb', title: 'Signup', send_sms: false, birth_date_format: 'iso' });
    const second = await idflow('client', 'api-key', 'create', 'hooli', '--json');
    assert.equal(second.status, 0, second.stderr);
    const secondKey = JSON.parse(second.stdout);
    const listed = await idflow('client', 'api-key', 'list', 'hooli', '--json');
    const keys = JSON.parse(listed.stdout);
    assert.equal(keys.length, 2);
    assert.ok(!listed.stdout.includes(out.api_key) && !listed.stdout.includes(secondKey.api_key), 'a listing never shows keys');
    const revoked = await idflow('client', 'api-key', 'revoke', 'hooli', keys[0].id);
    assert.equal(revoked.status, 0, revoked.stderr);
    const bad = await idflow('client', 'create', '--name', 'Bad', '--integration', 'fully_hosted');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /integration/);
    const usage = await idflow('client', 'api-key', 'revoke', 'hooli');
    assert.equal(usage.status, 2);
    // The operator switches the brand's integration type (and its birth-date format); its keys stay.
    const switched = await idflow('client', 'update', 'hooli', '--integration', 'non_hosted', '--birth-date-format', 'unix_ms', '--json');
    assert.equal(switched.status, 0, switched.stderr);
    const switchedOut = JSON.parse(switched.stdout);
    assert.deepEqual(switchedOut.one_click, { integration: 'non_hosted', environment: 'sandbox', default_redirect_url: 'https://hooli.example/cb', title: 'Signup', send_sms: false, birth_date_format: 'unix_ms' });
    assert.equal(switchedOut.api_key, undefined);
    assert.equal(JSON.parse((await idflow('client', 'api-key', 'list', 'hooli', '--json')).stdout).length, 2, 'the keys are untouched');

    // The keys work (or not) against the server built on the same data folder.
    const services = await openPlatform(loadConfig({ IDFLOW_DATA_DIR: dir, LOG_LEVEL: 'silent' }), createLogger('silent'));
    const app = await buildApp(services);
    try {
      const post = (key: string) => app.inject({ method: 'POST', url: '/1-click', headers: { authorization: key, 'content-type': 'application/json' }, payload: JSON.stringify({ phone: RICHARD }) });
      assert.equal((await post(out.api_key)).statusCode, 401, 'the revoked first key');
      const ok = await post(secondKey.api_key);
      assert.equal(ok.statusCode, 201);
      assert.deepEqual(Object.keys(ok.json()), ['uuid', 'identity'], 'the same key now answers as Non-Hosted');
      assert.equal(ok.json().identity.credentials.birthDate, String(Date.UTC(1989, 7, 1, 12)));
    } finally {
      await app.close();
      await services.db.close();
    }
  });
});

/** Each metadata tree has the credentials' keys, array lengths and nesting. */
function assertMirrors(values: unknown, meta: unknown, name: string): void {
  if (Array.isArray(values)) {
    assert.ok(Array.isArray(meta) && meta.length === values.length, `${name}: array of ${values.length}`);
    values.forEach((v, i) => assertMirrors(v, (meta as unknown[])[i], `${name}[${i}]`));
  } else if (values && typeof values === 'object') {
    assert.ok(meta && typeof meta === 'object' && !Array.isArray(meta), `${name}: object`);
    assert.deepEqual(Object.keys(meta as object), Object.keys(values), `${name}: same keys in the same order`);
    for (const k of Object.keys(values)) assertMirrors((values as any)[k], (meta as any)[k], `${name}.${k}`);
  } else {
    assert.ok(meta === null || typeof meta === 'string', `${name}: a string or null`);
  }
}
