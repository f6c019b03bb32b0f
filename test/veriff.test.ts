import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ConfigError, loadConfig } from '../src/config/index.ts';
import { isAppError } from '../src/kernel/errors.ts';
import { VeriffProvider } from '../src/verification/providers/veriff/provider.ts';
import { imageLimits } from '../src/verification/registry.ts';
import { systemClock } from '../src/kernel/clock.ts';
import { startFakeVeriff, type FakeVeriff } from './support/fake-veriff.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { user } from './support/fixtures.ts';

describe('Veriff configuration', () => {
  it('needs all three variables and names the missing one', () => {
    assert.equal(loadConfig({}).verification.veriff, undefined);
    assert.throws(
      () => loadConfig({ IDFLOW_VERIFF_API_KEY: '11111111-2222-3333-4444-555555555555', IDFLOW_VERIFF_BASE_URL: 'https://stationapi.veriff.com' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'IDFLOW_VERIFF_SHARED_SECRET' && !e.message.includes('11111111'),
    );
    assert.throws(
      () => loadConfig({ IDFLOW_VERIFF_API_KEY: 'k'.repeat(10), IDFLOW_VERIFF_SHARED_SECRET: 's'.repeat(10), IDFLOW_VERIFF_BASE_URL: 'not a url' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'IDFLOW_VERIFF_BASE_URL',
    );
    const config = loadConfig({ IDFLOW_VERIFF_API_KEY: 'k'.repeat(10), IDFLOW_VERIFF_SHARED_SECRET: 's'.repeat(10), IDFLOW_VERIFF_BASE_URL: 'https://stationapi.veriff.com/' });
    assert.deepEqual(config.verification.veriff, { apiKey: 'k'.repeat(10), sharedSecret: 's'.repeat(10), baseUrl: 'https://stationapi.veriff.com', trustFramework: 'veriff' });
    assert.equal(config.verification.defaultProvider, 'veriff');
  });
});

for (const backend of await backends()) {
  describe(`Veriff adapter against a local Veriff (${backend})`, () => {
    let fake: FakeVeriff;
    let platform: TestPlatform;
    const engine = () => platform.services.verification;
    const webhook = (body: string, headers: Record<string, string>) =>
      platform.app.inject({ method: 'POST', url: '/verification/webhooks/veriff', headers: { 'content-type': 'application/json', ...headers }, payload: body });

    before(async () => {
      fake = await startFakeVeriff();
      platform = await startPlatform(backend, {
        listen: true,
        env: {
          IDFLOW_VERIFF_API_KEY: fake.apiKey,
          IDFLOW_VERIFF_SHARED_SECRET: fake.sharedSecret,
          IDFLOW_VERIFF_BASE_URL: fake.baseUrl,
          IDFLOW_VERIFF_TRUST_FRAMEWORK: 'eidas',
        },
      });
      fake.webhookUrl = `${platform.url}/verification/webhooks/veriff`;
    });
    after(async () => {
      await platform.close();
      await fake.close();
    });

    it('creates a session and sends the person to Veriff', async () => {
      const { verification, next } = await engine().start({ provider: 'veriff', returnTo: '/after', clientId: 'shop' });
      const session = [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!;
      assert.ok(session, 'vendorData is the verification id');
      assert.equal(next, session.url);
      assert.equal(session.callback, `${platform.url}/verification/${verification.id}/return`);
      assert.equal(verification.state, 'created');
    });

    it('approve: the signed decision webhook verifies, with the data, the images and evidence', async () => {
      const ada = await user(platform, 'veriff-approve@example.com');
      const { verification, next } = await engine().start({ provider: 'veriff', returnTo: '/after', userId: ada.id, clientId: 'shop' });
      // The person opens Veriff's page (Veriff sends the `started` event), then is approved.
      const page = await fetch(next);
      assert.equal(page.status, 200);
      assert.equal((await engine().get(verification.id))!.state, 'in_progress');
      const decided = await fetch(`${next}/decision`, { method: 'POST', body: new URLSearchParams({ decision: 'approved' }), redirect: 'manual' });
      assert.equal(decided.status, 303);
      assert.equal(decided.headers.get('location'), `${platform.url}/verification/${verification.id}/return`);
      assert.equal(fake.deliveries.at(-1)!.status, 200);

      const view = (await engine().get(verification.id))!;
      assert.equal(view.state, 'verified');
      assert.deepEqual(view.document, {
        documentType: 'passport',
        documentNumber: 'KE0123456',
        issuingCountry: 'EST',
        givenNames: 'Mari',
        surname: 'Maasikas',
        dateOfBirth: '1988-03-07',
        nationality: 'EST',
        dateOfIssue: '2020-05-04',
        dateOfExpiry: '2030-05-03',
        sex: 'F',
      });
      assert.equal(view.providerTxn, [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!.id);
      assert.deepEqual(view.checks.map((c) => `${c.check_method}/${c.organization}`), ['vri/veriff', 'bvr/veriff', 'data/idflow']);
      const images = (await engine().images(verification.id))!;
      assert.deepEqual(Object.keys(images).sort(), ['documentBack', 'documentFront', 'face']);
      // Veriff's media (PNGs here) are stored as every image is: normalised to JPEG on arrival.
      for (const [kind, bytes] of Object.entries(images)) {
        const metadata = await sharp(bytes).metadata();
        assert.equal(metadata.format, 'jpeg', kind);
        assert.equal(metadata.exif, undefined, kind);
      }
      assert.deepEqual(await sharp(images.documentFront).metadata().then((m) => [m.width, m.height]), [90, 60]);
      const evidence = (await platform.services.wallet.latest(ada.id, ['fullName'])).get('fullName')!.evidence as Record<string, any>;
      assert.equal(evidence.trust_framework, 'eidas');
      assert.equal(evidence.evidence[0].document_details.issuer.country_code, 'EST');

      // Back from Veriff, the person goes on to where the verification was started from.
      const back = await platform.app.inject({ method: 'GET', url: `/verification/${verification.id}/return` });
      assert.equal(back.statusCode, 303);
      assert.equal(back.headers.location, '/after');
    });

    it('decline: rejected with the reason mapped from reasonCode', async () => {
      for (const [reasonCode, reason] of [[103, 'face_mismatch'], [102, 'provider_declined']] as const) {
        const { verification } = await engine().start({ provider: 'veriff', returnTo: '/after' });
        const session = [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!;
        assert.equal(await fake.decide(session.id, 'declined', { reasonCode }), 200);
        const view = (await engine().get(verification.id))!;
        assert.equal(view.state, 'rejected');
        assert.deepEqual(view.reasons, [reason]);
        assert.equal(await engine().images(verification.id).then((i) => Object.keys(i ?? {}).length), 0);
      }
    });

    it('expired and abandoned sessions end as expired and cancelled; resubmission is not final', async () => {
      for (const [decision, state, reasons] of [['expired', 'expired', ['provider_timeout']], ['abandoned', 'cancelled', ['cancelled_by_person']], ['resubmission_requested', 'in_progress', []]] as const) {
        const { verification } = await engine().start({ provider: 'veriff', returnTo: '/after' });
        const session = [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!;
        assert.equal(await fake.decide(session.id, decision), 200);
        const view = (await engine().get(verification.id))!;
        assert.equal(view.state, state, decision);
        assert.deepEqual(view.reasons, reasons);
      }
    });

    it('a bad webhook signature is 401 and changes nothing', async () => {
      const { verification } = await engine().start({ provider: 'veriff', returnTo: '/after' });
      const session = [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!;
      await fake.decide(session.id, 'approved', { send: false });
      const body = JSON.stringify({ status: 'success', verification: session.decision });
      const attempts: Record<string, string>[] = [
        { 'x-auth-client': fake.apiKey, 'x-hmac-signature': fake.sign(body, 'not-the-shared-secret') },
        { 'x-auth-client': fake.apiKey, 'x-hmac-signature': fake.sign(body.replace('Maasikas', 'Mallory')) },
        { 'x-auth-client': 'someone-else', 'x-hmac-signature': fake.sign(body) },
        { 'x-auth-client': fake.apiKey },
      ];
      for (const headers of attempts) {
        const response = await webhook(body, headers);
        assert.equal(response.statusCode, 401);
        assert.match(String(response.headers['content-type']), /application\/problem\+json/);
        assert.equal(response.json().code, 'unauthenticated');
        assert.ok(!response.body.includes('Maasikas'));
      }
      assert.equal(await fake.sendWebhook(body, 'wrong-secret-entirely'), 401);
      const view = (await engine().get(verification.id))!;
      assert.equal(view.state, 'created');
      assert.equal(await engine().images(verification.id).then((i) => Object.keys(i ?? {}).length), 0);
      // The same body, signed right, is accepted.
      const accepted = await webhook(body, { 'x-auth-client': fake.apiKey, 'x-hmac-signature': fake.sign(body) });
      assert.equal(accepted.statusCode, 200);
      assert.deepEqual(accepted.json(), { received: true });
      assert.equal((await engine().get(verification.id))!.state, 'verified');
    });

    it('a signed webhook about a session idflow did not start is acknowledged and ignored; a body that is not JSON is 400', async () => {
      const unknown = JSON.stringify({ status: 'success', verification: { id: '00000000-0000-4000-8000-000000000000', status: 'approved' } });
      const acknowledged = await webhook(unknown, { 'x-auth-client': fake.apiKey, 'x-hmac-signature': fake.sign(unknown) });
      assert.equal(acknowledged.statusCode, 200);
      assert.deepEqual(acknowledged.json(), { received: false });
      assert.equal((await webhook(unknown, { 'x-auth-client': fake.apiKey, 'x-hmac-signature': fake.sign('x') })).statusCode, 401);
      const junk = 'not json';
      assert.equal((await webhook(junk, { 'x-auth-client': fake.apiKey, 'x-hmac-signature': fake.sign(junk) })).statusCode, 400);
    });

    it('an approval for a session idflow did not start is acknowledged without calling Veriff', async () => {
      // A complete approval: were it idflow's, its images would be fetched from Veriff.
      const decision = { id: '00000000-0000-4000-8000-000000000002', attemptId: '00000000-0000-4000-8000-000000000003', status: 'approved', code: 9001, person: fake.person, document: fake.document, decisionTime: new Date().toISOString() };
      const body = JSON.stringify({ status: 'success', verification: decision });
      const calls = fake.requests.length;
      const response = await webhook(body, { 'x-auth-client': fake.apiKey, 'x-hmac-signature': fake.sign(body) });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json(), { received: false });
      assert.deepEqual(fake.requests.slice(calls), []);
    });

    it('an image Veriff serves larger than the image limit is read no further and left out', async () => {
      const { verification } = await engine().start({ provider: 'veriff', returnTo: '/after' });
      const session = [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!;
      const total = 64 * 1024 * 1024;
      fake.oversizedMedia = { face: total };
      try {
        assert.equal(await fake.decide(session.id, 'approved'), 200);
      } finally {
        fake.oversizedMedia = {};
      }
      assert.equal((await engine().get(verification.id))!.state, 'verified');
      assert.deepEqual(Object.keys((await engine().images(verification.id))!).sort(), ['documentBack', 'documentFront']);
      const served = fake.served.at(-1)!;
      assert.equal(served.context, 'face');
      // The limit (5 MiB here) plus what sockets buffer, far from the whole answer.
      assert.ok(served.bytes < total / 4, `read ${served.bytes} bytes`);
    });

    it('a second decision after the first (a review overriding it) is acknowledged; the first outcome stands', async () => {
      const { verification } = await engine().start({ provider: 'veriff', returnTo: '/after' });
      const session = [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!;
      assert.equal(await fake.decide(session.id, 'approved'), 200);
      assert.equal(await fake.decide(session.id, 'declined', { reasonCode: 102 }), 200);
      const view = (await engine().get(verification.id))!;
      assert.equal(view.state, 'verified');
      assert.deepEqual(view.reasons, []);
    });

    it('falls back to polling the decision when the webhook was missed', async () => {
      const { verification } = await engine().start({ provider: 'veriff', returnTo: '/after' });
      const session = [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!;
      const provider = engine().providers.get('veriff')!;
      assert.equal(await provider.fetchResult!(session.id), undefined, 'no decision yet');
      await fake.decide(session.id, 'approved', { send: false });
      const polled = await provider.fetchResult!(session.id);
      assert.equal(polled?.outcome, 'verified');
      // The waiting page polls for the person.
      const back = await platform.app.inject({ method: 'GET', url: `/verification/${verification.id}/return` });
      assert.equal(back.statusCode, 303);
      assert.equal(back.headers.location, '/after');
      assert.equal((await engine().get(verification.id))!.state, 'verified');
    });

    it('refuses a decision answer that Veriff did not sign, and a session refused by Veriff', async () => {
      const impostor = new VeriffProvider({ apiKey: fake.apiKey, sharedSecret: 'another-shared-secret', baseUrl: fake.baseUrl, clock: systemClock, imageLimits: imageLimits(platform.config.verification) });
      const session = [...fake.sessions.values()][0]!;
      await assert.rejects(impostor.fetchResult(session.id), (e: unknown) => isAppError(e) && e.code === 'unavailable');
      const wrongKey = new VeriffProvider({ apiKey: 'wrong-api-key', sharedSecret: fake.sharedSecret, baseUrl: fake.baseUrl, clock: systemClock, imageLimits: imageLimits(platform.config.verification) });
      await assert.rejects(wrongKey.start({ verificationId: '00000000-0000-4000-8000-000000000001', returnUrl: 'http://127.0.0.1/x' }), (e: unknown) => isAppError(e) && e.code === 'unavailable');
    });

    it('an approval for an expired document is rejected by idflow’s own check', async () => {
      const { verification } = await engine().start({ provider: 'veriff', returnTo: '/after' });
      const session = [...fake.sessions.values()].find((s) => s.vendorData === verification.id)!;
      const document = fake.document;
      fake.document = { ...document, validUntil: '2020-01-01', validFrom: '2010-01-02' };
      try {
        await fake.decide(session.id, 'approved');
      } finally {
        fake.document = document;
      }
      const view = (await engine().get(verification.id))!;
      assert.equal(view.state, 'rejected');
      assert.deepEqual(view.reasons, ['document_expired']);
    });
  });
}
