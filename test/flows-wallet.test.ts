import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineFlow } from '../src/flows/engine.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { isAppError } from '../src/kernel/errors.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { user } from './support/fixtures.ts';

const door = defineFlow({
  kind: 'test_door',
  initial: 'closed',
  transitions: { closed: ['open', 'locked'], open: ['closed'], locked: [] },
  ttlSeconds: 60,
});

for (const backend of await backends()) {
  describe(`flow engine and wallet (${backend})`, () => {
    let platform: TestPlatform;
    const clock = new ManualClock();
    before(async () => {
      platform = await startPlatform(backend, { clock });
    });
    after(() => platform.close());

    it('moves only along the transition table and records each move as an event', async () => {
      const { flows } = platform.services;
      const flow = await flows.start(door, { data: { secret: 'x' } });
      assert.equal(flow.state, 'closed');
      const opened = await flows.transition(door, flow, 'open');
      await assert.rejects(flows.transition(door, opened, 'locked'), (e) => isAppError(e) && e.code === 'invalid_transition');
      const events = await platform.services.repos.events.listForFlow(flow.id);
      assert.deepEqual(events.map((e) => e.type), ['test_door.created', 'test_door.open']);
    });

    it('refuses a stale write (two requests racing on one flow)', async () => {
      const { flows } = platform.services;
      const flow = await flows.start(door, { data: {} });
      await flows.transition(door, flow, 'open');
      await assert.rejects(flows.transition(door, flow, 'locked'), (e) => isAppError(e) && e.code === 'flow_conflict');
    });

    it('expires flows and purges them', async () => {
      const { flows } = platform.services;
      const flow = await flows.start(door, { data: {} });
      clock.advance(61_000);
      await assert.rejects(flows.load(door, flow.id), (e) => isAppError(e) && e.code === 'flow_expired' && e.status === 410);
      assert.ok((await flows.purgeExpired(clock.now())) >= 1);
      await assert.rejects(flows.load(door, flow.id), (e) => isAppError(e) && e.code === 'not_found');
    });

    it('keeps flow data sealed at rest', async () => {
      const flow = await platform.services.flows.start(door, { data: { birthDate: '1989-08-01' } });
      const [row] = await platform.services.db.query<{ data_sealed: string }>('select data_sealed from flows where id = $1', [flow.id]);
      assert.ok(!row!.data_sealed.includes('1989'));
      assert.deepEqual((await platform.services.flows.load(door, flow.id)).data, { birthDate: '1989-08-01' });
    });

    it('stores credentials sealed, returns the newest valid one per type, records consent', async () => {
      const ada = await user(platform, 'ada.wallet@example.com');
      const { wallet } = platform.services;
      await wallet.add(ada.id, [{ type: 'birthDate', value: '1970-01-01', verificationMethod: 'self_attested' }]);
      clock.advance(1000);
      const [doc] = await wallet.add(ada.id, [
        { type: 'birthDate', value: '1989-08-01', verificationMethod: 'document', evidence: { trust_framework: 'eidas' } },
        { type: 'fullName', value: { firstName: 'Ada', lastName: 'Lovelace' }, verificationMethod: 'document', expiresAt: new Date(clock.now().getTime() + 5000) },
      ]);
      const latest = await wallet.latest(ada.id, ['birthDate', 'fullName']);
      assert.equal(latest.get('birthDate')!.value, '1989-08-01');
      assert.deepEqual(latest.get('birthDate')!.evidence, { trust_framework: 'eidas' });
      clock.advance(6000);
      assert.equal((await wallet.latest(ada.id, ['fullName'])).size, 0, 'expired credentials are not offered');

      const rows = await platform.services.db.query<Record<string, unknown>>('select * from credentials');
      assert.ok(!JSON.stringify(rows).includes('Lovelace'));

      const { consents } = platform.services;
      const consent = (await consents.record({ door: 'one_click', userId: ada.id, clientId: 'shop', shared: ['birthDate'], credentialIds: [doc!.id] }))!;
      assert.deepEqual((await consents.ofPerson(ada.id)).map((c) => c.id), [consent.id]);
    });
  });
}
