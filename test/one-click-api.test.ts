import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/kernel/clock.ts';
import { isOneClickError } from '../src/one-click/errors.ts';
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
      assert.deepEqual(
        review.fields!.map((f) => [f.id, f.value, f.required, f.editable]),
        [
          ['fullName.firstName', 'Richard', false, true],
          ['fullName.middleName', '', true, true],
          ['fullName.lastName', 'Hendricks', false, true],
          ['birthDate', '1989-08-01', false, false],
        ],
      );
      await assert.rejects(oneClick.share(uuid, {}), (e) => isOneClickError(e) && e.reason === 'invalid_input' && /Middle name/.test(e.details.explanation!));
      await assert.rejects(oneClick.share(uuid, { 'fullName.middleName': 'B', birthDate: '1990-01-01' }), (e) => isOneClickError(e) && e.reason === 'invalid_input');
      const { redirectUrl } = await oneClick.share(uuid, { 'fullName.middleName': 'Baudelaire', 'fullName.firstName': 'Rich' });
      assert.equal(redirectUrl, `https://hooli.example/after?from=verified&identityUuid=${uuid}`);

      const get = await call(platform, 'GET', `/1-click/${uuid}`, key);
      assert.equal(get.status, 200);
      assert.deepEqual(get.body.credentials, { fullName: { firstName: 'Rich', middleName: 'Baudelaire', lastName: 'Hendricks' }, birthDate: '1989-08-01' });
      assert.deepEqual(get.body.metadata.credentials.verificationMethod.fullName, { firstName: 'self_attested', middleName: 'self_attested', lastName: 'phone_carrier' });
      assert.equal(get.body.metadata.credentials.verificationMethod.birthDate, 'credit_bureau');
      assert.equal((await oneClick.viewForPerson(uuid)).step, 'shared');
    });

    it('Hosted: declining redirects with an error and GET answers OCE021; a Semi-Hosted uuid opens no page', async () => {
      const post = await call(platform, 'POST', '/1-click', keys['hooli-hosted'], { phone: '+12225550001' });
      const { redirectUrl } = await platform.services.oneClick.decline(post.body.uuid);
      assert.equal(redirectUrl, `https://hooli.example/verified?identityUuid=${post.body.uuid}&error=declined`);
      assertOce(await call(platform, 'GET', `/1-click/${post.body.uuid}`, keys['hooli-hosted']), 403, 'OCE021', 'User Opted Out');
      const semi = await call(platform, 'POST', '/1-click', keys['hooli-semi'], { phone: freshPhone() });
      await assert.rejects(platform.services.oneClick.viewForPerson(semi.body.uuid), (e) => isOneClickError(e) && e.reason === 'request_not_found');
    });

    it('answers under /v2 too, the same way', async () => {
      const post = await call(platform, 'POST', '/v2/1-click', keys['hooli-non'], { phone: '+12225550004' });
      assert.equal(post.status, 201);
      const get = await call(platform, 'GET', `/v2/1-click/${post.body.uuid}`, keys['hooli-non']);
      assert.deepEqual(get.body, post.body.identity);
    });
  });
}

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
