import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineFlow } from '../src/flows/engine.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { purgeExpired } from '../src/maintenance.ts';
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

      assert.deepEqual(await purgeExpired(services), { verificationsExpired: 0, webKycHandOvers: 0, flows: 0, oneClickHolds: 0, oauthRows: 0, limitCounters: 0 });

      clock.advance(2 * 3600 * 1000);
      const report = await purgeExpired(services);
      assert.equal(report.verificationsExpired, 1);
      assert.equal(report.flows >= 1, true);
      assert.equal(report.oauthRows, 1);
      assert.equal((await services.verification.get(verification.id))!.state, 'expired');
      assert.deepEqual(await services.db.query('select id from flows where id = $1', [flow.id]), []);
      assert.equal(await services.repos.payloads.findIgnoringExpiry('Session', 'stale-session'), undefined);
    });
  });
}
