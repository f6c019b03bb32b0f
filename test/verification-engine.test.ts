import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { isAppError } from '../src/kernel/errors.ts';
import { normaliseImage, type NormalisedImage } from '../src/verification/documents/index.ts';
import { VERIFICATION } from '../src/verification/engine.ts';
import { imageLimits } from '../src/verification/registry.ts';
import { sampleDocuments, td3 } from '../src/verification/providers/sandbox/sample-documents.ts';
import { encodePng, testImage, type TestImageName } from '../src/verification/providers/sandbox/test-images.ts';
import type { DocumentData, VerificationResult } from '../src/verification/types.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { user } from './support/fixtures.ts';

const MAX_IMAGE_BYTES = 4096;

/** A form as a browser sends it with enctype=multipart/form-data. */
async function postMultipart(platform: TestPlatform, url: string, fields: Record<string, string>, files: Record<string, { bytes: Buffer; name: string; type?: string }> = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  for (const [k, f] of Object.entries(files)) form.set(k, new Blob([new Uint8Array(f.bytes)], { type: f.type ?? 'application/octet-stream' }), f.name);
  const encoded = new Response(form);
  return platform.app.inject({ method: 'POST', url, headers: { 'content-type': encoded.headers.get('content-type')! }, payload: Buffer.from(await encoded.arrayBuffer()) });
}

/** An image as the engine stores it: normalised, as at upload. */
async function normalised(bytes: Buffer): Promise<NormalisedImage> {
  const outcome = await normaliseImage(bytes, imageLimits(loadConfig({}).verification));
  assert.ok(outcome.ok);
  return outcome.image;
}
const SELFIE = await normalised(testImage('selfie'));

const csrfOf = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)![1]!;

interface Walk {
  face?: TestImageName | { bytes: Buffer; name: string };
  document?: 'document-front' | 'document-unreadable' | { front: Buffer; back: Buffer };
  sample?: 'valid' | 'expired' | 'timeout';
  typed?: { mrz: string; surname: string; givenNames: string; documentNumber: string; dateOfBirth: string; dateOfExpiry: string };
  stopAfter?: 'liveness' | 'document';
}

/** Goes through the sandbox's hosted steps as a browser would; returns the last response. */
async function walk(platform: TestPlatform, id: string, steps: Walk) {
  let page = await platform.app.inject({ method: 'GET', url: `/verification/sandbox/${id}/liveness` });
  assert.equal(page.statusCode, 200);
  const csrf = csrfOf(page.body);
  const face = steps.face ?? 'selfie';
  page = typeof face === 'string'
    ? await postMultipart(platform, `/verification/sandbox/${id}/liveness`, { csrf, testImage: face })
    : await postMultipart(platform, `/verification/sandbox/${id}/liveness`, { csrf }, { face: { ...face, type: 'image/jpeg' } });
  if (page.headers.location !== `/verification/sandbox/${id}/document` || steps.stopAfter === 'liveness') return page;
  const doc = steps.document ?? 'document-front';
  const fields: Record<string, string> = { csrf, ...(steps.typed ?? {}), ...(steps.sample ? { sample: steps.sample } : {}) };
  page = typeof doc === 'string'
    ? await postMultipart(platform, `/verification/sandbox/${id}/document`, { ...fields, testImages: doc })
    : await postMultipart(platform, `/verification/sandbox/${id}/document`, fields, { front: { bytes: doc.front, name: 'front.jpg' }, back: { bytes: doc.back, name: 'back.jpg' } });
  if (page.headers.location !== `/verification/sandbox/${id}/face-match` || steps.stopAfter === 'document') return page;
  return platform.app.inject({ method: 'POST', url: `/verification/sandbox/${id}/face-match`, payload: { csrf } });
}

function sampleDocument(clock: ManualClock): DocumentData {
  const s = sampleDocuments(clock).find((d) => d.name === 'valid')!;
  return { documentType: 'passport', documentNumber: s.visual.documentNumber, issuingCountry: 'UTO', givenNames: s.visual.givenNames, surname: s.visual.surname, dateOfBirth: s.visual.dateOfBirth, nationality: 'UTO', dateOfIssue: s.visual.dateOfIssue, dateOfExpiry: s.visual.dateOfExpiry, sex: 'F' };
}

function verified(clock: ManualClock): VerificationResult {
  return { outcome: 'verified', document: sampleDocument(clock), images: { face: SELFIE }, checks: [{ check_method: 'vri', organization: 'test', txn: 't1' }], providerTxn: 'txn-1', verifiedAt: clock.now() };
}

const rejectsWith = (code: string) => (error: unknown) => isAppError(error) && error.code === code;

describe('verification state machine (table)', () => {
  it('reaches every final state from created and in_progress, and leaves none', () => {
    for (const to of ['verified', 'rejected', 'expired', 'cancelled'] as const) {
      assert.ok(VERIFICATION.transitions.created.includes(to));
      assert.ok(VERIFICATION.transitions.in_progress.includes(to));
      assert.deepEqual(VERIFICATION.transitions[to], []);
    }
    assert.ok(!VERIFICATION.transitions.in_progress.includes('created'));
  });
});

for (const backend of await backends()) {
  describe(`verification engine (${backend})`, () => {
    let platform: TestPlatform;
    let clock: ManualClock;
    const engine = () => platform.services.verification;

    before(async () => {
      clock = new ManualClock();
      platform = await startPlatform(backend, { clock, env: { IDFLOW_VERIFICATION_MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES), IDFLOW_VERIFICATION_TTL: '600' } });
    });
    after(() => platform.close());

    it('starts in created and sends the person to the sandbox', async () => {
      const { verification, next } = await engine().start({ provider: 'sandbox', returnTo: '/back', clientId: 'shop' });
      assert.equal(verification.state, 'created');
      assert.equal(next, `/verification/sandbox/${verification.id}`);
      const first = await platform.app.inject({ method: 'GET', url: next });
      assert.equal(first.statusCode, 303);
      assert.equal(first.headers.location, `/verification/sandbox/${verification.id}/liveness`);
    });

    it('refuses an unknown provider and a returnTo that leaves the server', async () => {
      await assert.rejects(engine().start({ provider: 'nope', returnTo: '/x' }), rejectsWith('validation_failed'));
      for (const returnTo of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'relative']) {
        await assert.rejects(engine().start({ provider: 'sandbox', returnTo }), rejectsWith('validation_failed'), returnTo);
      }
    });

    it('moves created → in_progress → verified, is idempotent for the same outcome and refuses another', async () => {
      const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/back' });
      assert.equal((await engine().progress(verification.id, 'started')).state, 'in_progress');
      const done = await engine().settle(verification.id, verified(clock));
      assert.equal(done.state, 'verified');
      assert.equal(done.document?.surname, 'Eriksson');
      const again = await engine().settle(verification.id, verified(clock));
      assert.equal(again.state, 'verified');
      await assert.rejects(engine().settle(verification.id, { outcome: 'rejected', reasons: ['provider_declined'] }), rejectsWith('invalid_transition'));
      await assert.rejects(engine().cancel(verification.id), rejectsWith('invalid_transition'));
      // A late progress event changes nothing.
      assert.equal((await engine().progress(verification.id, 'submitted')).state, 'verified');
      const events = await platform.services.db.query<{ type: string }>(`select type from events where payload->>'verificationId' = $1 order by id`, [verification.id]);
      assert.deepEqual(events.map((e) => e.type), ['verification.created', 'verification.progress', 'verification.verified']);
    });

    it('settles a rejection as rejected, a timeout as expired and a cancellation as cancelled', async () => {
      const outcomes = [
        [['liveness_failed', 'face_mismatch'], 'rejected'],
        [['provider_timeout'], 'expired'],
        [['cancelled_by_person'], 'cancelled'],
      ] as const;
      for (const [reasons, state] of outcomes) {
        const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/back' });
        const view = await engine().settle(verification.id, { outcome: 'rejected', reasons: [...reasons] });
        assert.equal(view.state, state);
        assert.deepEqual(view.reasons, reasons);
        await assert.rejects(engine().settle(verification.id, verified(clock)), rejectsWith('invalid_transition'));
      }
    });

    it('lets exactly one of two concurrent results win, and fills the wallet once', async () => {
      const ada = await user(platform, 'concurrent@example.com');
      const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/back', userId: ada.id });
      const same = await Promise.all([engine().settle(verification.id, verified(clock)), engine().settle(verification.id, verified(clock))]);
      assert.deepEqual(same.map((v) => v.state), ['verified', 'verified']);
      const [{ n }] = (await platform.services.db.query<{ n: number }>('select count(*)::int as n from credentials where verification_id = $1', [verification.id])) as [{ n: number }];
      assert.equal(n, 4, 'fullName, birthDate, documentNumber, nationality: once');
      const [{ e }] = (await platform.services.db.query<{ e: number }>(`select count(*)::int as e from events where type = 'verification.verified' and payload->>'verificationId' = $1`, [verification.id])) as [{ e: number }];
      assert.equal(e, 1);

      const other = (await engine().start({ provider: 'sandbox', returnTo: '/back' })).verification;
      const raced = await Promise.allSettled([engine().settle(other.id, verified(clock)), engine().settle(other.id, { outcome: 'rejected', reasons: ['face_mismatch'] })]);
      assert.equal(raced.filter((r) => r.status === 'fulfilled').length, 1);
      const loser = raced.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(rejectsWith('invalid_transition')(loser.reason));
    });

    it('expires verifications past their time as provider_timeout, once', async () => {
      const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/back' });
      await engine().progress(verification.id, 'started');
      clock.advance(599_000);
      assert.equal(await engine().expireStale(), 0);
      clock.advance(2_000);
      const swept = await engine().expireStale();
      assert.ok(swept >= 1);
      const view = (await engine().get(verification.id))!;
      assert.equal(view.state, 'expired');
      assert.deepEqual(view.reasons, ['provider_timeout']);
      assert.equal(await engine().expireStale(), 0);
      await assert.rejects(engine().settle(verification.id, verified(clock)), rejectsWith('invalid_transition'));
      // The sandbox pages send the person back instead of letting them go on.
      const page = await platform.app.inject({ method: 'GET', url: `/verification/sandbox/${verification.id}/liveness` });
      assert.equal(page.statusCode, 303);
      assert.equal(page.headers.location, '/back');
    });

    describe('every sandbox outcome, through the hosted pages', () => {
      const cases: { name: string; walk: Walk; state: string; reasons: string[] }[] = [
        { name: 'pass (test images, test passport)', walk: { sample: 'valid' }, state: 'verified', reasons: [] },
        { name: 'liveness fail', walk: { face: 'selfie-liveness-fail' }, state: 'rejected', reasons: ['liveness_failed'] },
        { name: 'face mismatch', walk: { face: 'selfie-someone-else', sample: 'valid' }, state: 'rejected', reasons: ['face_mismatch'] },
        { name: 'expired document', walk: { sample: 'expired' }, state: 'rejected', reasons: ['document_expired'] },
        { name: 'unreadable document (image)', walk: { document: 'document-unreadable', sample: 'valid' }, state: 'rejected', reasons: ['document_unreadable'] },
      ];
      for (const c of cases) {
        it(c.name, async () => {
          const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
          const last = await walk(platform, verification.id, c.walk);
          assert.equal(last.statusCode, 303);
          assert.equal(last.headers.location, '/after');
          const view = (await engine().get(verification.id))!;
          assert.equal(view.state, c.state);
          assert.deepEqual(view.reasons, c.reasons);
          if (c.state !== 'verified') {
            const [{ n }] = (await platform.services.db.query<{ n: number }>('select count(*)::int as n from verification_images where verification_id = $1', [verification.id])) as [{ n: number }];
            assert.equal(n, 0, 'a failed verification keeps no images');
          }
        });
      }

      it('recognises its test images by their bytes when a person downloads and uploads them as photos', async () => {
        const served = async (name: string) => {
          const image = await platform.app.inject({ method: 'GET', url: `/verification/sandbox/test-images/${name}.png` });
          assert.equal(image.statusCode, 200);
          return image.rawPayload;
        };
        const runs = [
          [{ face: { bytes: await served('selfie-liveness-fail'), name: 'me.png' } }, ['liveness_failed']],
          [{ document: { front: await served('document-unreadable'), back: await served('document-back') }, sample: 'valid' }, ['document_unreadable']],
        ] as const;
        for (const [steps, reasons] of runs) {
          const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
          assert.equal((await walk(platform, verification.id, steps)).headers.location, '/after');
          assert.deepEqual((await engine().get(verification.id))!.reasons, reasons);
        }
      });

      it('typed MRZ: valid passes; a tampered check digit, garbage and a visual mismatch are rejected with their reason', async () => {
        const valid = sampleDocuments(clock).find((d) => d.name === 'valid')!;
        const typed = { mrz: valid.mrz.join('\n'), surname: 'Eriksson', givenNames: 'Anna Maria', documentNumber: 'L898902C3', dateOfBirth: '1974-08-12', dateOfExpiry: valid.visual.dateOfExpiry };
        const tampered = valid.mrz[1].slice(0, 9) + String((Number(valid.mrz[1][9]) + 1) % 10) + valid.mrz[1].slice(10);
        const runs = [
          [typed, 'verified', []],
          [{ ...typed, mrz: `${valid.mrz[0]}\n${tampered}` }, 'rejected', ['mrz_check_digit']],
          [{ ...typed, mrz: 'NOT AN MRZ AT ALL' }, 'rejected', ['document_unreadable']],
          [{ ...typed, surname: 'Smith' }, 'rejected', ['mrz_visual_mismatch']],
        ] as const;
        for (const [fields, state, reasons] of runs) {
          const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
          const last = await walk(platform, verification.id, { typed: fields });
          assert.equal(last.headers.location, '/after');
          const view = (await engine().get(verification.id))!;
          assert.equal(view.state, state, fields.mrz);
          assert.deepEqual(view.reasons, reasons);
        }
      });

      it('provider timeout: no answer, a waiting page, then expired when the time is up', async () => {
        const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
        const last = await walk(platform, verification.id, { sample: 'timeout' });
        assert.equal(last.headers.location, `/verification/${verification.id}/return`);
        const waiting = await platform.app.inject({ method: 'GET', url: `/verification/${verification.id}/return` });
        assert.equal(waiting.statusCode, 200);
        assert.match(waiting.body, /Checking your document/);
        assert.equal(waiting.headers.refresh, '2');
        assert.match(waiting.body, /<meta http-equiv="refresh" content="2">/);
        assert.equal((await engine().get(verification.id))!.state, 'in_progress');
        clock.advance(601_000);
        const back = await platform.app.inject({ method: 'GET', url: `/verification/${verification.id}/return` });
        assert.equal(back.statusCode, 303);
        assert.equal(back.headers.location, '/after');
        const view = (await engine().get(verification.id))!;
        assert.equal(view.state, 'expired');
        assert.deepEqual(view.reasons, ['provider_timeout']);
      });

      it('cancel: the person leaves, reason cancelled_by_person', async () => {
        const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
        const page = await platform.app.inject({ method: 'GET', url: `/verification/sandbox/${verification.id}/liveness` });
        const out = await platform.app.inject({ method: 'POST', url: `/verification/sandbox/${verification.id}/cancel`, payload: { csrf: csrfOf(page.body) } });
        assert.equal(out.headers.location, '/after');
        const view = (await engine().get(verification.id))!;
        assert.equal(view.state, 'cancelled');
        assert.deepEqual(view.reasons, ['cancelled_by_person']);
      });
    });

    it('puts the verified data into the wallet with Identity Assurance evidence', async () => {
      const ada = await user(platform, 'wallet@example.com');
      const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after', userId: ada.id, clientId: 'shop' });
      await walk(platform, verification.id, { sample: 'valid' });
      const view = (await engine().get(verification.id))!;
      assert.equal(view.state, 'verified');
      const expiry = view.document!.dateOfExpiry;
      const latest = await platform.services.wallet.latest(ada.id, ['fullName', 'birthDate', 'documentNumber', 'nationality']);
      assert.deepEqual(latest.get('fullName')!.value, { firstName: 'Anna Maria', lastName: 'Eriksson' });
      assert.equal(latest.get('birthDate')!.value, '1974-08-12');
      assert.equal(latest.get('documentNumber')!.value, 'L898902C3');
      assert.equal(latest.get('nationality')!.value, 'UTO');
      for (const credential of latest.values()) {
        assert.equal(credential.verificationMethod, 'document');
        assert.equal(credential.verificationId, verification.id);
        assert.equal(credential.sourceClientId, 'shop');
        assert.equal(credential.expiresAt!.toISOString(), new Date(Date.parse(`${expiry}T00:00:00Z`) + 86_400_000).toISOString());
      }
      const evidence = latest.get('fullName')!.evidence as Record<string, any>;
      assert.equal(evidence.trust_framework, 'idflow_sandbox');
      assert.equal(evidence.verification_process, verification.id);
      assert.match(evidence.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.equal(evidence.evidence.length, 1);
      const [doc] = evidence.evidence;
      assert.equal(doc.type, 'document');
      assert.deepEqual(doc.document_details, { type: 'passport', document_number: 'L898902C3', date_of_issuance: view.document!.dateOfIssue, date_of_expiry: expiry, issuer: { country_code: 'UTO' } });
      assert.deepEqual(doc.check_details.map((c: { check_method: string }) => c.check_method), ['vri', 'pvr', 'bvr']);
      assert.deepEqual(engine().assurance(view), evidence);
    });

    it('keeps names, document numbers and images sealed at rest, and events free of them', async () => {
      const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
      await walk(platform, verification.id, { sample: 'valid' });
      assert.equal((await engine().get(verification.id))!.state, 'verified');
      const images = (await engine().images(verification.id))!;
      // The test images as uploads are stored: normalised (JPEG, no metadata).
      assert.deepEqual(images.face, SELFIE);
      assert.deepEqual(images.documentFront, await normalised(testImage('document-front')));
      assert.deepEqual(images.documentBack, await normalised(testImage('document-back')));
      const rows = JSON.stringify([
        ...(await platform.services.db.query('select * from verifications where id = $1', [verification.id])),
        ...(await platform.services.db.query('select * from verification_images where verification_id = $1', [verification.id])),
        ...(await platform.services.db.query(`select * from events where payload->>'verificationId' = $1`, [verification.id])),
      ]);
      for (const secret of ['Eriksson', 'ERIKSSON', 'Anna', 'L898902C3', '1974-08-12', 'P<UTO']) assert.ok(!rows.includes(secret), `${secret} is in clear`);
      for (const bytes of Object.values(images)) {
        assert.ok(!rows.includes(bytes.toString('base64').slice(0, 40)));
        assert.ok(!rows.includes(bytes.toString('base64url').slice(0, 40)));
        assert.ok(!rows.includes(bytes.toString('hex').slice(0, 40)));
      }
      assert.ok(!rows.includes('IHDR'));
    });

    it('deleteData deletes the document and the images for real', async () => {
      const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
      await walk(platform, verification.id, { sample: 'valid' });
      const count = async () => (await platform.services.db.query<{ n: number }>('select count(*)::int as n from verification_images where verification_id = $1', [verification.id]))[0]!.n;
      assert.equal(await count(), 3);
      await engine().deleteData(verification.id);
      assert.equal(await count(), 0);
      const [row] = await platform.services.db.query<Record<string, unknown>>('select document_sealed, provider_data_sealed, data_deleted_at, state from verifications where id = $1', [verification.id]);
      assert.equal(row!.document_sealed, null);
      assert.equal(row!.provider_data_sealed, null);
      assert.ok(row!.data_deleted_at instanceof Date);
      assert.equal(row!.state, 'verified');
      const view = (await engine().get(verification.id))!;
      assert.equal(view.dataDeleted, true);
      assert.equal(view.document, undefined);
      assert.equal(await engine().images(verification.id), undefined);
      await assert.rejects(engine().deleteData('00000000-0000-4000-8000-000000000000'), rejectsWith('not_found'));
    });

    it('refuses a text file named .jpg, a photo cut short and an image over the size limit, storing nothing', async () => {
      const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
      const page = await platform.app.inject({ method: 'GET', url: `/verification/sandbox/${verification.id}/liveness` });
      const csrf = csrfOf(page.body);
      const text = await postMultipart(platform, `/verification/sandbox/${verification.id}/liveness`, { csrf }, { face: { bytes: Buffer.from('just some text, not a photo\n'.repeat(10)), name: 'me.jpg', type: 'image/jpeg' } });
      assert.equal(text.statusCode, 422);
      assert.match(text.body, /role="alert"/);
      assert.match(text.body, /not a JPEG or PNG/);
      // A real image, far larger than the limit.
      const big = await encodePng(200, 200, (x, y) => [(x * 31 + y * 17) % 256, (x * y) % 256, (x ^ y) % 256]);
      assert.ok(big.length > MAX_IMAGE_BYTES);
      const large = await postMultipart(platform, `/verification/sandbox/${verification.id}/liveness`, { csrf }, { face: { bytes: big, name: 'me.png', type: 'image/png' } });
      assert.equal(large.statusCode, 413);
      assert.match(large.body, /at most/);
      // A document step with a good front and a back cut short stores neither.
      await postMultipart(platform, `/verification/sandbox/${verification.id}/liveness`, { csrf, testImage: 'selfie' });
      const fakeBack = await postMultipart(platform, `/verification/sandbox/${verification.id}/document`, { csrf, sample: 'valid' }, {
        front: { bytes: testImage('document-front'), name: 'front.png' },
        back: { bytes: testImage('document-back').subarray(0, 400), name: 'back.png' },
      });
      assert.equal(fakeBack.statusCode, 422);
      assert.match(fakeBack.body, /The photo of the back of the document is not a JPEG or PNG image/);
      const kinds = await platform.services.db.query<{ kind: string }>('select kind from verification_images where verification_id = $1', [verification.id]);
      assert.deepEqual(kinds.map((k) => k.kind), ['face']);
      const view = (await engine().get(verification.id))!;
      assert.equal(view.state, 'in_progress');
      // The real upload path still works after the refusals.
      const ok = await walk(platform, verification.id, { sample: 'valid' });
      assert.equal(ok.headers.location, '/after');
    });

    it('refuses a form without its page token', async () => {
      const { verification } = await engine().start({ provider: 'sandbox', returnTo: '/after' });
      const forged = await postMultipart(platform, `/verification/sandbox/${verification.id}/liveness`, { csrf: 'forged', testImage: 'selfie' });
      assert.equal(forged.statusCode, 403);
      assert.equal((await engine().get(verification.id))!.state, 'created');
    });

    it('generates MRZs the document checks accept (TD3 check digits)', () => {
      const [, line2] = td3({ issuingCountry: 'UTO', surname: 'Eriksson', givenNames: 'Anna Maria', documentNumber: 'L898902C3', nationality: 'UTO', dateOfBirth: '1974-08-12', sex: 'F', dateOfExpiry: '2012-04-15', personalNumber: 'ZE184226B' });
      // ICAO 9303 Part 4, Appendix B: the specimen passport.
      assert.equal(line2, 'L898902C36UTO7408122F1204159ZE184226B<<<<<10');
    });

    it('answers an unknown verification with a 404 page (a browser comes back here)', async () => {
      const missing = await platform.app.inject({ method: 'GET', url: '/verification/00000000-0000-4000-8000-000000000000/return' });
      assert.equal(missing.statusCode, 404);
      assert.match(String(missing.headers['content-type']), /^text\/html/);
    });
  });
}
