import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineFlow } from '../src/flows/engine.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { isAppError } from '../src/kernel/errors.ts';
import { INTRO_TTL_SECONDS, webKycFlow } from '../src/kyc/web-kyc-flow.ts';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * What the flow engine owns for every kind of flow: expiry, attempt limits, what an ended
 * flow keeps, the browser a flow is bound to and the forms bound to both. The hosted pages
 * built on it (1-Click, Web KYC) test the same rules through HTTP and Chromium.
 */
interface Data {
  phone: string;
  secret?: string;
}

const door = defineFlow({
  kind: 'test_code_door',
  initial: 'waiting',
  transitions: { waiting: ['open', 'failed', 'expired'], open: ['done', 'expired'], done: [], failed: [], expired: [] },
  ttlSeconds: 60,
  onExpiry: 'expired',
  maxAttempts: 3,
  onAttemptsExhausted: 'failed',
  keepOnEnd: ({ secret: _secret, ...kept }: Data): Data => kept,
});

for (const backend of await backends()) {
  describe(`flow engine (${backend})`, () => {
    let platform: TestPlatform;
    const clock = new ManualClock();
    before(async () => {
      platform = await startPlatform(backend, { clock });
    });
    after(() => platform.close());

    const events = async (flowId: string) => (await platform.services.repos.events.listForFlow(flowId)).map((e) => e.type);

    it('moves an open flow past its time to onExpiry once, keeping only what an ended flow keeps; load answers flow_expired', async () => {
      const { flows } = platform.services;
      const flow = await flows.start(door, { data: { phone: '+1', secret: 'code-hash' } });
      assert.equal(flow.expired, false);
      clock.advance(60_000);
      const [first, second] = await Promise.all([flows.find(door, flow.id), flows.find(door, flow.id)]);
      for (const read of [first!, second!]) {
        assert.equal(read.state, 'expired');
        assert.equal(read.expired, true);
        assert.deepEqual(read.data, { phone: '+1' }, 'the secret is dropped when the flow ends');
      }
      assert.deepEqual(await events(flow.id), ['test_code_door.created', 'test_code_door.expired'], 'two racing readers move it once');
      await assert.rejects(flows.load(door, flow.id), (e) => isAppError(e) && e.code === 'flow_expired' && e.status === 410);
      await assert.rejects(flows.load(door, '00000000-0000-4000-8000-000000000000'), (e) => isAppError(e) && e.code === 'not_found');
    });

    it('reports a flow that ended before its time as expired without moving it', async () => {
      const { flows } = platform.services;
      const flow = await flows.start(door, { data: { phone: '+1' } });
      await flows.transition(door, await flows.transition(door, flow, 'open'), 'done');
      clock.advance(61_000);
      const read = (await flows.find(door, flow.id))!;
      assert.deepEqual([read.state, read.expired], ['done', true]);
    });

    it('counts failed attempts; the last allowed one ends the flow with what later reads should say; none past it', async () => {
      const { flows } = platform.services;
      let flow = await flows.start(door, { data: { phone: '+1', secret: 's' } });
      assert.equal(flows.attemptsLeft(door, flow), 3);
      const ending = { context: { reason: 'too_many_codes' } };
      for (const left of [2, 1]) {
        const counted = await flows.failAttempt(door, flow, { ending });
        assert.deepEqual([counted.flow.state, counted.attemptsLeft], ['waiting', left]);
        assert.deepEqual(counted.flow.context, {}, 'the ending is written only at the end');
        flow = counted.flow;
      }
      const last = await flows.failAttempt(door, flow, { ending });
      assert.deepEqual([last.flow.state, last.attemptsLeft, last.flow.attempts], ['failed', 0, 3]);
      assert.deepEqual(last.flow.context, { reason: 'too_many_codes' });
      assert.deepEqual(last.flow.data, { phone: '+1' });
      await assert.rejects(flows.failAttempt(door, last.flow), (e) => isAppError(e) && e.code === 'attempts_exhausted' && e.status === 429);
      // A stale copy cannot count an attempt a second time.
      await assert.rejects(flows.failAttempt(door, flow), (e) => isAppError(e) && e.code === 'flow_conflict');

      // A surface that tells of the last wrong attempt first: the flow stays, and is refused at the next.
      let patient = await flows.start(door, { data: { phone: '+1' } });
      for (let i = 0; i < 3; i++) patient = (await flows.failAttempt(door, patient, { ending, endAtLast: false })).flow;
      assert.deepEqual([patient.state, flows.attemptsLeft(door, patient)], ['waiting', 0]);
      await assert.rejects(flows.failAttempt(door, patient, { ending }), (e) => isAppError(e) && e.code === 'attempts_exhausted');
    });

    it('binds a flow to a browser by a secret it keeps only the hash of; a later binding replaces it', async () => {
      const { flows, db } = platform.services;
      const started = await flows.start(door, { data: { phone: '+1' }, bindBrowser: true });
      const secret = started.browserSecret!;
      assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
      const stored = (await db.query<{ browser_hash: string }>('select browser_hash from flows where id = $1', [started.id]))[0]!.browser_hash;
      assert.ok(stored && !stored.includes(secret), 'only a hash is stored');
      const read = (await flows.find(door, started.id))!;
      assert.equal(flows.isBrowserOf(read, secret), true);
      for (const other of [undefined, '', 'forged', secret.slice(1)]) assert.equal(flows.isBrowserOf(read, other), false);

      // Bound later (1-Click binds the browser that entered the right code), with the next write.
      const plain = await flows.start(door, { data: { phone: '+1' } });
      assert.equal(plain.browserSecret, undefined);
      assert.equal(flows.isBrowserOf(plain, undefined), false, 'an unbound flow has no browser');
      const bound = flows.bindBrowser(plain);
      const opened = await flows.transition(door, bound.flow, 'open');
      assert.equal(flows.isBrowserOf((await flows.find(door, plain.id))!, bound.browserSecret), true);
      const rebound = flows.bindBrowser(opened);
      await flows.transition(door, rebound.flow, 'open', { context: { again: true } });
      const now = (await flows.find(door, plain.id))!;
      assert.equal(flows.isBrowserOf(now, bound.browserSecret), false);
      assert.equal(flows.isBrowserOf(now, rebound.browserSecret), true);
      // A secret is worth nothing on another flow.
      assert.equal(flows.isBrowserOf(read, rebound.browserSecret), false);
    });

    it('binds forms to the flow and its browser: another flow\'s token, a forged one, another browser or a page from before the binding are refused', async () => {
      const { flows } = platform.services;
      const one = await flows.start(door, { data: { phone: '+1' } });
      const two = await flows.start(door, { data: { phone: '+2' } });
      const csrf = flows.formToken(one);
      assert.equal(flows.checkForm(one, { csrf, browserSecret: undefined }), 'ok', 'an unbound flow takes forms from any browser');
      assert.equal(flows.checkForm(one, { csrf, browserSecret: 'anything' }), 'ok');
      for (const wrong of [flows.formToken(two), 'forged', '', undefined, 42]) assert.equal(flows.checkForm(one, { csrf: wrong, browserSecret: undefined }), 'stale_form');

      const { flow: bound, browserSecret } = flows.bindBrowser(one);
      const saved = await flows.transition(door, bound, 'open');
      assert.equal(flows.checkForm(saved, { csrf, browserSecret }), 'stale_form', 'a page shown before the binding no longer acts');
      const boundCsrf = flows.formToken(saved);
      assert.notEqual(boundCsrf, csrf);
      assert.equal(flows.checkForm(saved, { csrf: boundCsrf, browserSecret }), 'ok');
      assert.equal(flows.checkForm(saved, { csrf: boundCsrf, browserSecret: undefined }), 'other_browser');
      assert.equal(flows.checkForm(saved, { csrf: boundCsrf, browserSecret: 'forged' }), 'other_browser');
    });

    it('refuses definitions that name states they do not have', () => {
      assert.throws(() => defineFlow({ kind: 'bad', initial: 'a', transitions: { a: [] }, ttlSeconds: 1, onExpiry: 'gone' as 'a' }), /onExpiry names an unknown state gone/);
      assert.throws(() => defineFlow({ kind: 'bad', initial: 'a', transitions: { a: ['b' as 'a'] }, ttlSeconds: 1 }), /unknown state b/);
      assert.throws(() => defineFlow({ kind: 'bad', initial: 'a', transitions: { a: [] }, ttlSeconds: 1, onAttemptsExhausted: 'a' }), /without maxAttempts/);
    });
  });
}

/**
 * The same rules through HTTP, on a hosted page every browser meets (Web KYC's introduction),
 * under an https issuer: the one flow cookie, the hash at rest, forms bound to flow and
 * browser, and expiry answered the same way at every visit.
 */
for (const backend of await backends()) {
  describe(`flow engine through the hosted pages (${backend})`, () => {
    let platform: TestPlatform;
    const clock = new ManualClock();
    const redirectUri = 'https://shop.example.com/kyc/result';
    before(async () => {
      platform = await startPlatform(backend, { clock, env: { IDFLOW_ISSUER: 'https://id.example.test' } });
      await platform.services.clients.save({ clientId: 'shop', name: 'Shop', redirectUris: [redirectUri], grantTypes: ['authorization_code'], scope: 'openid' });
      await saveWebKycSettings(platform.services.repos.clients, 'shop', { enabled: true, provider: 'sandbox' });
    });
    after(() => platform.close());

    const open = async (state: string) => {
      const answer = await platform.app.inject({ url: `/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'shop', redirect_uri: redirectUri, scope: 'kyc', state })}` });
      assert.equal(answer.statusCode, 303);
      const flowId = /^\/web-kyc\/flows\/([0-9a-f-]{36})$/.exec(answer.headers.location as string)![1]!;
      return { flowId, setCookie: String(answer.headers['set-cookie']), cookie: String(answer.headers['set-cookie']).split(';')[0]! };
    };
    const page = (flowId: string, cookie?: string) => platform.app.inject({ url: `/web-kyc/flows/${flowId}`, headers: cookie ? { cookie } : {} });
    const csrfOf = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)![1]!;

    it('binds the flow to the browser that opened it with the one flow cookie; the row keeps only a hash of its secret', async () => {
      const { flowId, setCookie, cookie } = await open('s1');
      const secret = cookie.slice('idflow_wkyc='.length);
      assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(setCookie, `idflow_wkyc=${secret}; Max-Age=3600; Path=/web-kyc/flows/${flowId}; HttpOnly; Secure; SameSite=Lax`);
      const [row] = await platform.services.db.query<Record<string, unknown>>('select * from flows where id = $1', [flowId]);
      assert.ok(row!.browser_hash, 'the binding is kept');
      assert.ok(!JSON.stringify(row).includes(secret), 'but never the secret itself');

      assert.equal((await page(flowId, cookie)).statusCode, 200);
      const other = await open('s2');
      for (const stranger of [undefined, 'idflow_wkyc=forged', other.cookie]) assert.equal((await page(flowId, stranger)).statusCode, 403, String(stranger));
    });

    it('takes a form only with its page\'s token and from its browser', async () => {
      const one = await open('s3');
      const two = await open('s4');
      const csrf = csrfOf((await page(one.flowId, one.cookie)).body);
      const otherCsrf = csrfOf((await page(two.flowId, two.cookie)).body);
      const cancel = (form: Record<string, string>, cookie?: string) =>
        platform.app.inject({ method: 'POST', url: `/web-kyc/flows/${one.flowId}/cancel`, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) }, payload: new URLSearchParams(form).toString() });
      for (const [form, cookie] of [[{ csrf: otherCsrf }, one.cookie], [{ csrf: 'forged' }, one.cookie], [{}, one.cookie], [{ csrf }, undefined], [{ csrf }, two.cookie]] as const) {
        const refused = await cancel(form, cookie);
        assert.equal(refused.statusCode, 403);
        assert.match(refused.body, /same browser/i);
      }
      assert.equal((await platform.services.flows.find(webKycFlow, one.flowId))!.state, 'created', 'nothing changed');
      const done = await cancel({ csrf }, one.cookie);
      assert.equal(done.statusCode, 303);
      assert.equal(new URL(done.headers.location as string).searchParams.get('error_description'), 'cancelled_by_person');
    });

    it('answers a lapsed introduction the same way at every visit; the engine moved it to expired once', async () => {
      const { flowId, cookie } = await open('s5');
      clock.advance(INTRO_TTL_SECONDS * 1000);
      for (let visit = 0; visit < 2; visit++) {
        const answer = await page(flowId, cookie);
        assert.equal(answer.statusCode, 303);
        const back = new URL(answer.headers.location as string);
        assert.deepEqual([`${back.origin}${back.pathname}`, back.searchParams.get('error'), back.searchParams.get('error_description'), back.searchParams.get('state')], [redirectUri, 'access_denied', 'expired', 's5']);
      }
      const events = (await platform.services.repos.events.listForFlow(flowId)).map((e) => e.type);
      assert.deepEqual(events, ['web_kyc.created', 'web_kyc.expired']);
      assert.equal((await page(flowId)).statusCode, 403, 'still only for its browser');
    });
  });
}
