import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { testImage } from '../src/verification/providers/sandbox/test-images.ts';
import { launchBrowser, screenshot } from './support/browser.ts';
import { buildMrz, dateFrom, visualFor } from './support/mrz-fixtures.ts';
import { startPlatform, type TestPlatform } from './support/platform.ts';

/** Every visible form control has a label (the pages must work with a screen reader). */
async function everyControlLabelled(page: Page): Promise<boolean> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input:not([type=hidden]), textarea')].every((el) => (el.labels?.length ?? 0) > 0),
  );
}

/** Nothing sticks out sideways on a phone. */
async function fitsTheScreen(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

describe('sandbox verification in Chromium', () => {
  let platform: TestPlatform;
  let browser: Browser;

  before(async () => {
    platform = await startPlatform('pglite', { listen: true });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await platform?.close();
  });

  it('uploads the photos, takes a typed MRZ and lands on returnTo, verified', async () => {
    const { verification, next } = await platform.services.verification.start({ provider: 'sandbox', returnTo: '/healthz?verified' });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    try {
      await page.goto(`${platform.url}${next}`);
      assert.equal(new URL(page.url()).pathname, `/verification/sandbox/${verification.id}/liveness`);
      assert.equal(await page.locator('#face').getAttribute('capture'), 'user');
      assert.ok(await everyControlLabelled(page));
      assert.ok(await fitsTheScreen(page));
      await screenshot(page, 'sandbox-1-liveness');
      await page.setInputFiles('#face', { name: 'selfie.png', mimeType: 'image/png', buffer: testImage('selfie') });
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.waitForURL(`**/verification/sandbox/${verification.id}/document`);
      assert.ok(await everyControlLabelled(page));
      assert.ok(await fitsTheScreen(page));
      await page.setInputFiles('#front', { name: 'front.png', mimeType: 'image/png', buffer: testImage('document-front') });
      await page.setInputFiles('#back', { name: 'back.png', mimeType: 'image/png', buffer: testImage('document-back') });
      // A passport made for this test by an independent MRZ writer, valid for five more years.
      const spec = { format: 'TD3' as const, surname: 'Lindqvist', givenNames: 'Sven Erik', documentNumber: 'X4R7Q2P19', nationality: 'UTO', dateOfBirth: '1991-11-23', sex: 'M' as const, dateOfExpiry: dateFrom(platform.clock, { years: 5 }) };
      const visual = visualFor(spec);
      await page.getByLabel('Machine-readable zone').fill(buildMrz(spec).join('\n'));
      await page.getByLabel('Surname').fill(visual.surname);
      await page.getByLabel('Given names').fill(visual.givenNames);
      await page.getByLabel('Document number').fill(visual.documentNumber);
      await page.getByLabel('Date of birth').fill(visual.dateOfBirth);
      await page.getByLabel('Date of expiry').fill(visual.dateOfExpiry);
      await screenshot(page, 'sandbox-2-document');
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.waitForURL(`**/verification/sandbox/${verification.id}/face-match`);
      await screenshot(page, 'sandbox-3-face-match');
      // The one button has the focus: the keyboard alone finishes the step.
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Compare and finish');
      await page.keyboard.press('Enter');

      await page.waitForURL('**/healthz?verified');
      await screenshot(page, 'sandbox-4-returned');
      const view = (await platform.services.verification.get(verification.id))!;
      assert.equal(view.state, 'verified');
      assert.equal(view.document?.surname, 'Lindqvist');
      assert.equal(view.document?.documentNumber, 'X4R7Q2P19');
      const images = (await platform.services.verification.images(verification.id))!;
      // Stored as every upload is: normalised to a JPEG of the same picture.
      const stored = await sharp(images.documentFront).metadata();
      assert.deepEqual([stored.format, stored.width, stored.height], ['jpeg', 120, 80]);
    } finally {
      await context.close();
    }
  });

  it('picks a test image by keyboard alone: liveness fails and the person is sent back', async () => {
    const { verification, next } = await platform.services.verification.start({ provider: 'sandbox', returnTo: '/healthz?rejected' });
    const page = await browser.newPage();
    try {
      await page.goto(`${platform.url}${next}`);
      const radio = page.getByLabel('A photo of a photo (liveness fails)');
      await radio.focus();
      await page.keyboard.press('Space');
      assert.ok(await radio.isChecked());
      await screenshot(page, 'sandbox-liveness-test-image');
      await page.keyboard.press('Enter');
      await page.waitForURL('**/healthz?rejected');
      const view = (await platform.services.verification.get(verification.id))!;
      assert.equal(view.state, 'rejected');
      assert.deepEqual(view.reasons, ['liveness_failed']);
    } finally {
      await page.close();
    }
  });

  it('shows a refused upload on the page, with the reason announced', async () => {
    const { next } = await platform.services.verification.start({ provider: 'sandbox', returnTo: '/healthz' });
    const page = await browser.newPage();
    try {
      await page.goto(`${platform.url}${next}`);
      await page.setInputFiles('#face', { name: 'holiday.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('this is a text file, not a photo') });
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForSelector('[role=alert]');
      assert.equal((await page.textContent('[role=alert]'))?.trim(), 'The photo of your face is not a JPEG or PNG image.');
      await screenshot(page, 'sandbox-liveness-refused');
    } finally {
      await page.close();
    }
  });
});
