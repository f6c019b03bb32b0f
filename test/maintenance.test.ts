import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineFlow } from '../src/flows/engine.ts';
import { loadConfig } from '../src/config/index.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { purgeExpired } from '../src/maintenance.ts';
import { normaliseImage } from '../src/verification/documents/index.ts';
import { sampleDocuments } from '../src/verification/providers/sandbox/sample-documents.ts';
import { testImage } from '../src/verification/providers/sandbox/test-images.ts';
import { imageLimits } from '../src/verification/registry.ts';
import { user } from './support/fixtures.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

const errand = defineFlow({ kind: 'test_errand', initial: 'open', transitions: { open: [] }, ttlSeconds: 60 });

for (const backend of await backends()) {
  describe(`purging what time made stale (${backend})`, () => {
    let platform: TestPlatform;
    const clock = new ManualClock();
    before(async () => {
      platform = await startPlatform(backend, { clock });
    });
    after(() => platform.close());

    it('expires verifications nobody finished, and deletes expired flows and OAuth rows', async () => {
      const { services } = platform;
      const { verification } = await services.verification.start({ provider: 'sandbox', returnTo: '/done' });
      const flow = await services.flows.start(errand, { data: {} });
      await services.repos.payloads.upsert('Session', 'stale-session', { uid: 'u1' }, new Date(clock.now().getTime() + 1000));

      assert.deepEqual(await purgeExpired(services), { verificationsExpired: 0, verificationImagesDeleted: 0, webKycHandOvers: 0, flows: 0, oneClickHolds: 0, oauthRows: 0, limitCounters: 0 });

      clock.advance(2 * 3600 * 1000);
      const report = await purgeExpired(services);
      assert.equal(report.verificationsExpired, 1);
      assert.equal(report.flows >= 1, true);
      assert.equal(report.oauthRows, 1);
      assert.equal((await services.verification.get(verification.id))!.state, 'expired');
      assert.deepEqual(await services.db.query('select id from flows where id = $1', [flow.id]), []);
      assert.equal(await services.repos.payloads.findIgnoringExpiry('Session', 'stale-session'), undefined);
    });

    it('deletes the images of a signed-in person\'s verification 30 days after it ended, and keeps newer ones', async () => {
      const { services } = platform;
      const DAY = 86_400_000;
      const ada = await user(platform, 'retention@example.com');
      const face = await normaliseImage(testImage('selfie'), imageLimits(loadConfig({}).verification));
      assert.ok(face.ok);
      const verifiedNow = async () => {
        const { verification } = await services.verification.start({ provider: 'sandbox', returnTo: '/done', userId: ada.id });
        const s = sampleDocuments(clock).find((d) => d.name === 'valid')!.visual;
        const document = { documentType: 'passport' as const, documentNumber: s.documentNumber, issuingCountry: 'UTO', givenNames: s.givenNames, surname: s.surname, dateOfBirth: s.dateOfBirth, nationality: 'UTO', dateOfIssue: s.dateOfIssue, dateOfExpiry: s.dateOfExpiry, sex: 'F' as const };
        await services.verification.settle(verification.id, { outcome: 'verified', document, images: { face: face.image }, checks: [], providerTxn: 't', verifiedAt: clock.now() });
        return verification.id;
      };
      const images = async (id: string) => (await services.db.query<{ n: number }>('select count(*)::int as n from verification_images where verification_id = $1', [id]))[0]!.n;

      const older = await verifiedNow();
      clock.advance(10 * DAY);
      const newer = await verifiedNow();
      clock.advance(20 * DAY - 60_000); // the older one ended 30 days ago, less a minute
      assert.equal((await purgeExpired(services)).verificationImagesDeleted, 0);
      assert.deepEqual([await images(older), await images(newer)], [1, 1]);

      clock.advance(2 * 60_000);
      assert.equal((await purgeExpired(services)).verificationImagesDeleted, 1);
      assert.deepEqual([await images(older), await images(newer)], [0, 1], 'older than the retention: deleted; newer: kept');
      const view = (await services.verification.get(older))!;
      assert.equal(view.state, 'verified');
      assert.equal(view.document?.surname, 'Eriksson', 'the document read stays');
      assert.ok((await services.wallet.latest(ada.id, ['fullName'])).get('fullName'), 'the wallet keeps its credentials');
      const events = await services.db.query<{ type: string }>(`select type from events where payload->>'verificationId' = $1 order by id`, [older]);
      assert.equal(events.at(-1)!.type, 'verification.images_deleted');

      clock.advance(10 * DAY);
      assert.equal((await purgeExpired(services)).verificationImagesDeleted, 1);
      assert.equal(await images(newer), 0);
      assert.equal((await purgeExpired(services)).verificationImagesDeleted, 0);
    });
  });
}
