import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot, startLoopbackApp, type LoopbackApp } from './support/browser.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

const RICHARD = '+10123456789';
/** A documented sandbox user for whom a birth date is needed first (OCE011 ["birthDate"]). */
const NEEDS_BIRTH_DATE = '+10019999997';
const SANDBOX_CODE = '111111';

interface Started {
  uuid: string;
  url: string;
  code: string;
}

/** What a person's phone shows: one tab at 390×844. */
async function phone(browser: Browser): Promise<{ context: BrowserContext; page: Page; pages: { url: string; cacheControl: string | undefined }[] }> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const pages: { url: string; cacheControl: string | undefined }[] = [];
  page.on('response', (response) => {
    if (response.request().isNavigationRequest()) pages.push({ url: response.url(), cacheControl: response.headers()['cache-control'] });
  });
  return { context, page, pages };
}

/** What a screen-reader and keyboard user needs of every page, checked on each step. */
async function assertAccessible(page: Page, title: string): Promise<void> {
  const facts = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    h1: [...document.querySelectorAll('h1')].map((h) => h.textContent?.trim()),
    unlabelled: [...document.querySelectorAll<HTMLInputElement>('input:not([type=hidden]), select, textarea')].filter((el) => !el.labels?.length).map((el) => el.name),
    danglingDescriptions: [...document.querySelectorAll('[aria-describedby]')].flatMap((el) =>
      el.getAttribute('aria-describedby')!.split(/\s+/).filter((id) => !document.getElementById(id)),
    ),
    fits: document.documentElement.scrollWidth <= window.innerWidth,
    buttonsNamed: [...document.querySelectorAll('button, a')].every((b) => (b.textContent ?? '').trim().length > 0),
  }));
  assert.equal(facts.lang, 'en');
  assert.deepEqual(facts.h1, [title], 'exactly one h1, the page title');
  assert.deepEqual(facts.unlabelled, [], 'every input has a label');
  assert.deepEqual(facts.danglingDescriptions, [], 'aria-describedby names elements that exist');
  assert.ok(facts.fits, 'nothing sticks out sideways on a phone');
  assert.ok(facts.buttonsNamed, 'every button and link has a name');
}

/** The text of the description list row labelled `label` (a read-only value). */
async function shownValue(page: Page, label: string): Promise<string[]> {
  return page.evaluate(
    (label) =>
      [...document.querySelectorAll('dl.data dt')]
        .filter((dt) => dt.textContent?.trim().startsWith(label))
        .map((dt) => (dt.nextElementSibling as HTMLElement).innerText.trim()),
    label,
  );
}

for (const backend of await backends()) {
  describe(`1-Click Hosted wallet pages in Chromium (${backend})`, () => {
    let platform: TestPlatform;
    let operator: LoopbackApp;
    let browser: Browser;
    let key: string;
    const logLines: string[] = [];
    let phoneSeq = 0;
    /** A fresh well-formed US number: the sandbox answers any with Richard's mock data. */
    const freshPhone = () => `+1202555${String(3000 + phoneSeq++)}`;
    const callback = () => `${operator.origin}/verified/callback`;

    async function api(method: 'GET' | 'POST', url: string, apiKey: string, body?: unknown) {
      const response = await platform.app.inject({
        method,
        url,
        headers: { authorization: apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { payload: JSON.stringify(body) } : {}),
      });
      return { status: response.statusCode, body: response.json() as any };
    }

    async function start(body: Record<string, unknown>, apiKey = key): Promise<Started> {
      const post = await api('POST', '/1-click', apiKey, body);
      assert.equal(post.status, 201, JSON.stringify(post.body));
      assert.equal(post.body.url, `${platform.url}/1-click/wallet/${post.body.uuid}?phone=${encodeURIComponent(body.phone as string)}`);
      return post.body;
    }

    /** The operator's last callback visit (the browser also asks the operator for /favicon.ico). */
    const lastVisit = () => operator.visits.filter((v) => v.pathname === '/verified/callback').at(-1)!;

    before(async () => {
      platform = await startPlatform(backend, { listen: true, logLines });
      operator = await startLoopbackApp();
      browser = await launchBrowser();
      await platform.services.clients.save({
        clientId: 'hooli',
        name: 'Hooli XYZ Inc.',
        oneClick: { integration: 'hosted', environment: 'sandbox', defaultRedirectUrl: callback(), displayName: 'Hooli' },
      });
      key = (await platform.services.apiKeys.create('hooli')).key;
    });
    after(async () => {
      await browser?.close();
      await operator?.close();
      await platform?.close();
    });

    it('a sandbox user: code, review, edit, a mandatory field left empty is refused, share lands on the redirect URL; GET returns exactly that', async () => {
      const started = await start({
        phone: RICHARD,
        content: { title: 'Verify', description: 'Confirm your new Hooli account info:' },
        credentialRequests: [
          { type: 'FullNameCredential', mandatory: 'yes', children: [{ type: 'FirstNameCredential', mandatory: 'yes' }, { type: 'LastNameCredential', mandatory: 'yes' }] },
          { type: 'PhoneCredential' },
          { type: 'EmailCredential', mandatory: 'if_available', description: 'Your receipts go to this address.' },
          { type: 'AddressCredential', multi: true, allowUserInput: false },
          { type: 'BirthDateCredential', allowUserInput: false },
        ],
      });
      const { context, page, pages } = await phone(browser);
      try {
        // Step 1: the code. Nothing personal is on the page yet.
        await page.goto(started.url);
        await assertAccessible(page, '1-Click Verify');
        assert.equal(await page.locator('.context').innerText(), 'HOOLI', 'the brand as context (shown in capitals)');
        assert.equal(await page.locator('.lead').innerText(), 'Confirm your new Hooli account info:');
        const code = page.getByLabel('Verification code');
        assert.equal(await code.getAttribute('inputmode'), 'numeric');
        assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
        assert.match(await page.locator('main').innerText(), /ending in 6789/);
        assert.doesNotMatch(await page.content(), /Richard|Hendricks|1989-08-01/);
        await screenshot(page, 'one-click-1-code');
        await code.fill(SANDBOX_CODE);
        await page.getByRole('button', { name: 'Continue' }).click();

        // Step 3: the data, editable where allowed, read-only elsewhere, several addresses listed.
        await page.waitForURL(`${platform.url}/1-click/wallet/${started.uuid}`);
        await assertAccessible(page, '1-Click Verify');
        assert.equal(await page.getByRole('heading', { level: 2 }).innerText(), 'Review your information');
        assert.equal(await page.getByLabel('First name').inputValue(), 'Richard');
        assert.equal(await page.getByLabel('Last name').inputValue(), 'Hendricks');
        const email = page.getByLabel('Email');
        assert.equal(await email.inputValue(), 'richard@piedpiper.net');
        assert.equal(await email.getAttribute('type'), 'email');
        assert.equal(await email.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')!)?.textContent), 'Your receipts go to this address.');
        assert.deepEqual(await shownValue(page, 'Date of birth'), ['1989-08-01 Verified']);
        assert.deepEqual(await shownValue(page, 'Phone number'), [`${RICHARD} Verified`]);
        assert.equal(await page.locator('input[name="f.birthDate"]').count(), 0, 'a field without allowUserInput is not an input');
        // An editable composite is a fieldset; read-only ones (the three addresses) one row each.
        assert.deepEqual(await page.locator('legend').allInnerTexts(), ['Full name']);
        assert.deepEqual(await page.locator('dl.data dt', { hasText: /^Address/ }).allInnerTexts(), ['Address 1 of 3', 'Address 2 of 3', 'Address 3 of 3']);
        assert.deepEqual(await shownValue(page, 'Address'), [
          '5320 Newell Rd, Palo Alto, CA, 94303, US Verified',
          '9536 Meadow Dr, Apt 301, San Francisco, CA, 94112, US Verified',
          '7292 Hanover St, San Jose, CA, 95122, US Verified',
        ]);
        await screenshot(page, 'one-click-3-review');

        // Edit one field, empty a mandatory one: the page says which, and nothing is shared.
        await email.fill('rich@example.com');
        await page.getByLabel('Last name').fill('');
        await page.getByRole('button', { name: 'Share with Hooli' }).click();
        await page.waitForLoadState();
        const alert = page.getByRole('alert');
        assert.equal(await alert.innerText(), 'Please fill in: Last name.');
        const lastName = page.getByLabel('Last name');
        assert.equal(await lastName.getAttribute('aria-invalid'), 'true');
        assert.match(await lastName.evaluate((el) => el.getAttribute('aria-describedby')!.split(' ').map((id) => document.getElementById(id)?.textContent).join(' ')), /Last name is required/);
        assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'f.fullName.lastName', 'the empty field has the focus');
        assert.equal(await email.inputValue(), 'rich@example.com', 'what was typed is kept');
        await assertAccessible(page, '1-Click Verify');
        await screenshot(page, 'one-click-4-missing-field');
        const early = await api('GET', `/1-click/${started.uuid}`, key);
        assert.equal(early.status, 409, 'nothing shared yet');
        assert.equal(early.body.data.errorCode, 'OCE001');

        // Fill it and share: the browser lands on the operator's redirect URL with identityUuid.
        await lastName.fill('Hendricks');
        await page.getByRole('button', { name: 'Share with Hooli' }).click();
        await page.waitForURL(`${callback()}?identityUuid=${started.uuid}`);
        assert.equal(lastVisit().searchParams.get('identityUuid'), started.uuid);
        assert.equal(lastVisit().searchParams.get('error'), null);

        const shared = await api('GET', `/1-click/${started.uuid}`, key);
        assert.equal(shared.status, 200);
        assert.deepEqual(shared.body.identifiers, { phone: RICHARD });
        assert.deepEqual(shared.body.credentials, {
          fullName: { firstName: 'Richard', lastName: 'Hendricks' },
          phone: RICHARD,
          email: 'rich@example.com',
          address: [
            { line1: '5320 Newell Rd', city: 'Palo Alto', state: 'CA', zipCode: '94303', country: 'US' },
            { line1: '9536 Meadow Dr', line2: 'Apt 301', city: 'San Francisco', state: 'CA', zipCode: '94112', country: 'US' },
            { line1: '7292 Hanover St', city: 'San Jose', state: 'CA', zipCode: '95122', country: 'US' },
          ],
          birthDate: '1989-08-01',
        });
        const methods = shared.body.metadata.credentials.verificationMethod;
        assert.equal(methods.email, 'self_attested', 'the edited value is the person\'s own');
        // Typed back exactly as it was, the last name keeps its provenance.
        assert.deepEqual(methods.fullName, { firstName: 'phone_carrier', lastName: 'phone_carrier' });
        assert.equal(methods.phone, 'otp');
        assert.equal(methods.birthDate, 'credit_bureau');
        assert.deepEqual(shared.body.metadata.identifiers.verificationMethod, { phone: 'otp' });

        // The link again, after the share, only leads back to the operator.
        await page.goto(started.url);
        await page.waitForURL(`${callback()}?identityUuid=${started.uuid}`);
        for (const p of pages.filter((p) => p.url.startsWith(platform.url))) assert.equal(p.cacheControl, 'no-store', `${p.url} is not cached`);
      } finally {
        await context.close();
      }
    });

    it('a verified SSN is shown masked, as a wallet shows it, and cannot be changed; the operator still gets it once shared', async () => {
      const started = await start({ phone: freshPhone(), credentialRequests: [{ type: 'FullNameCredential' }, { type: 'SsnCredential' }] });
      const { context, page, pages } = await phone(browser);
      try {
        await page.goto(started.url);
        await page.getByLabel('Verification code').fill(started.code);
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForURL(`${platform.url}/1-click/wallet/${started.uuid}`);
        assert.equal(await page.getByRole('heading', { level: 2 }).innerText(), 'Review your information');
        assert.deepEqual(await shownValue(page, 'Social Security number'), ['•••-••-6789 Verified']);
        assert.equal(await page.locator('input[name="f.ssn"]').count(), 0, 'a verified SSN is not an input');
        const html = await page.content();
        for (const clear of ['123456789', '123-45-6789', '12345']) assert.ok(!html.includes(clear), `the page holds ${clear}`);
        assert.equal(await page.getByLabel('First name').inputValue(), 'Richard', 'other verified values stay editable');
        await assertAccessible(page, '1-Click Signup');
        await screenshot(page, 'one-click-ssn-masked');

        // A forged form that changes it is refused and shares nothing.
        const csrf = await page.locator('form[action$="/share"] input[name="csrf"]').inputValue();
        // The browser's own cookies, through Playwright's request API (the page's CSP rightly forbids fetch).
        const forged = await context.request.post(`${platform.url}/1-click/wallet/${started.uuid}/share`, { form: { csrf, 'f.ssn': '987654321' }, maxRedirects: 0 });
        assert.equal(forged.status(), 400);
        assert.match(await forged.text(), /Social Security number cannot be changed/);
        assert.equal((await api('GET', `/1-click/${started.uuid}`, key)).status, 409, 'nothing shared');

        await page.getByRole('button', { name: 'Share with Hooli' }).click();
        await page.waitForURL(`${callback()}?identityUuid=${started.uuid}`);
        const shared = await api('GET', `/1-click/${started.uuid}`, key);
        assert.equal(shared.body.credentials.ssn, '123456789', 'what the person agreed to share reaches the operator');
        assert.equal(shared.body.metadata.credentials.verificationMethod.ssn, 'credit_bureau');
        for (const p of pages.filter((p) => p.url.startsWith(platform.url))) assert.equal(p.cacheControl, 'no-store');
      } finally {
        await context.close();
      }
    });

    it('a user who needs a birth date: code, birth date (a wrong one is refused), review, edit, share', async () => {
      const started = await start({ phone: NEEDS_BIRTH_DATE });
      const { context, page } = await phone(browser);
      try {
        await page.goto(started.url);
        await assertAccessible(page, '1-Click Signup');
        await page.getByLabel('Verification code').fill(SANDBOX_CODE);
        await page.getByRole('button', { name: 'Continue' }).click();

        await page.waitForURL(`${platform.url}/1-click/wallet/${started.uuid}`);
        assert.equal(await page.getByRole('heading', { level: 2 }).innerText(), 'Confirm it is you');
        await assertAccessible(page, '1-Click Signup');
        const birthDate = page.getByLabel('Date of birth');
        assert.equal(await birthDate.getAttribute('type'), 'date');
        assert.equal(await birthDate.getAttribute('autocomplete'), 'bday');
        assert.equal(await page.locator('input[name=ssn4]').count(), 0, 'only the birth date was asked for');
        await screenshot(page, 'one-click-2-birth-date');
        await birthDate.fill('1979-01-01');
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForLoadState();
        assert.equal(await page.getByRole('alert').innerText(), 'That does not match our records. Check it and try again.');
        assert.equal(await page.getByLabel('Date of birth').getAttribute('aria-invalid'), 'true');
        await page.getByLabel('Date of birth').fill('1989-08-01');
        await page.getByRole('button', { name: 'Continue' }).click();

        await page.waitForFunction(() => document.querySelector('h2')?.textContent === 'Review your information');
        await assertAccessible(page, '1-Click Signup');
        // The documented defaults for Hosted: everything editable but the verified SSN (masked), up to three addresses.
        assert.equal(await page.getByLabel('Date of birth').inputValue(), '1989-08-01');
        assert.deepEqual(await shownValue(page, 'Social Security number'), ['•••-••-6789 Verified']);
        await page.getByLabel('First name').fill('Rich');
        await page.getByRole('button', { name: 'Share with Hooli' }).click();
        await page.waitForURL(`${callback()}?identityUuid=${started.uuid}`);

        const shared = await api('GET', `/1-click/${started.uuid}`, key);
        assert.equal(shared.status, 200);
        assert.deepEqual(shared.body.credentials.fullName, { firstName: 'Rich', lastName: 'Hendricks' });
        assert.equal(shared.body.credentials.birthDate, '1989-08-01');
        assert.equal(shared.body.credentials.address.length, 3);
        assert.deepEqual(shared.body.metadata.credentials.verificationMethod.fullName, { firstName: 'self_attested', lastName: 'phone_carrier' });
      } finally {
        await context.close();
      }
    });

    it('the ?code= link skips the code step and leaves no code in the address bar', async () => {
      const started = await start({ phone: freshPhone(), credentialRequests: [{ type: 'FullNameCredential' }, { type: 'BirthDateCredential' }] });
      const { context, page } = await phone(browser);
      try {
        await page.goto(`${started.url}&code=${started.code}`);
        await page.waitForURL(`${platform.url}/1-click/wallet/${started.uuid}`);
        assert.equal(await page.getByRole('heading', { level: 2 }).innerText(), 'Review your information');
        assert.equal(await page.getByLabel('Last name').inputValue(), 'Hendricks');
        await assertAccessible(page, '1-Click Signup');
        await screenshot(page, 'one-click-5-code-link');
      } finally {
        await context.close();
      }
    });

    it('three wrong codes end the request: attempts left are told, then a final page; the operator reads OCE018', async () => {
      const started = await start({ phone: freshPhone() });
      const { context, page } = await phone(browser);
      try {
        await page.goto(started.url);
        const submit = async (code: string) => {
          await page.getByLabel('Verification code').fill(code);
          await page.getByRole('button', { name: 'Continue' }).click();
          await page.waitForLoadState();
        };
        await submit('12ab');
        assert.equal(await page.getByRole('alert').innerText(), 'Enter the 6-digit code from the text message.', 'a malformed code costs no attempt');
        await submit('000000');
        assert.equal(await page.getByRole('alert').innerText(), 'That code is not right. 2 attempts left.');
        assert.equal(await page.getByLabel('Verification code').getAttribute('aria-invalid'), 'true');
        await assertAccessible(page, '1-Click Signup');
        await screenshot(page, 'one-click-6-wrong-code');
        await submit('000001');
        assert.equal(await page.getByRole('alert').innerText(), 'That code is not right. 1 attempt left.');
        await submit('000002');

        await page.waitForURL(`${platform.url}/1-click/wallet/${started.uuid}`);
        assert.equal(await page.getByRole('heading', { level: 2 }).innerText(), 'Too many wrong codes');
        assert.equal(await page.getByLabel('Verification code').count(), 0, 'no code form that cannot succeed');
        await assertAccessible(page, '1-Click Signup');
        await screenshot(page, 'one-click-7-attempts-exceeded');
        const back = page.getByRole('link', { name: 'Return to Hooli' });
        assert.equal(await back.getAttribute('href'), `${callback()}?identityUuid=${started.uuid}&error=code_attempts_exceeded`);

        const answer = await api('GET', `/1-click/${started.uuid}`, key);
        assert.equal(answer.status, 429);
        assert.equal(answer.body.data.errorCode, 'OCE018');
        // Even the right code does nothing now.
        await page.goto(`${started.url}&code=${started.code}`);
        assert.equal(await page.getByRole('heading', { level: 2 }).innerText(), 'Too many wrong codes');
        await back.click();
        await page.waitForURL(`${callback()}?identityUuid=${started.uuid}&error=code_attempts_exceeded`);
      } finally {
        await context.close();
      }
    });

    it('declining sends the person back with error=declined; the operator reads OCE021 and no data', async () => {
      const started = await start({ phone: freshPhone(), credentialRequests: [{ type: 'FullNameCredential' }] });
      const { context, page } = await phone(browser);
      try {
        await page.goto(started.url);
        await page.getByLabel('Verification code').fill(started.code);
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForFunction(() => document.querySelector('h2')?.textContent === 'Review your information');
        await page.getByRole('button', { name: 'Decline' }).click();
        await page.waitForURL(`${callback()}?identityUuid=${started.uuid}&error=declined`);
        const answer = await api('GET', `/1-click/${started.uuid}`, key);
        assert.equal(answer.status, 403);
        assert.equal(answer.body.data.errorCode, 'OCE021');
        assert.equal(answer.body.credentials, undefined);
      } finally {
        await context.close();
      }
    });

    it('works with the keyboard alone, in a sensible focus order', async () => {
      const started = await start({ phone: freshPhone(), credentialRequests: [{ type: 'FullNameCredential' }, { type: 'EmailCredential', description: 'For receipts.' }] });
      const { context, page } = await phone(browser);
      const focused = () => page.evaluate(() => document.activeElement?.getAttribute('name') ?? document.activeElement?.textContent?.trim());
      try {
        await page.goto(started.url);
        // autofocus is applied after the page has loaded: wait for it rather than race it.
        await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'code', undefined, { timeout: 5000 });
        await page.keyboard.type(started.code);
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => document.querySelector('h2')?.textContent === 'Review your information');

        const order: (string | undefined)[] = [];
        for (let i = 0; i < 6; i++) {
          await page.keyboard.press('Tab');
          order.push(await focused());
          if (order.at(-1) === 'f.fullName.middleName') await page.keyboard.type('Jay');
        }
        assert.deepEqual(order, ['f.fullName.firstName', 'f.fullName.middleName', 'f.fullName.lastName', 'f.email', 'Share with Hooli', 'Decline']);
        assert.ok(
          await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle !== 'none'),
          'the focused control shows it',
        );
        await page.keyboard.press('Shift+Tab');
        assert.equal(await focused(), 'Share with Hooli');
        await page.keyboard.press('Enter');
        await page.waitForURL(`${callback()}?identityUuid=${started.uuid}`);
        const shared = await api('GET', `/1-click/${started.uuid}`, key);
        assert.deepEqual(shared.body.credentials.fullName, { firstName: 'Richard', middleName: 'Jay', lastName: 'Hendricks' });
        assert.equal(shared.body.metadata.credentials.verificationMethod.fullName.middleName, 'self_attested');
      } finally {
        await context.close();
      }
    });

    it('production: the data comes from the person\'s wallet and the share is recorded as a consent', async () => {
      const phoneNumber = '+14155552671';
      const user = await platform.services.users.create({ phone: phoneNumber });
      const [name, birth, address] = await platform.services.wallet.add(user.id, [
        { type: 'fullName', value: { firstName: 'Grace', lastName: 'Hopper' }, verificationMethod: 'document', sourceClientId: 'kyc-bank' },
        { type: 'birthDate', value: '1906-12-09', verificationMethod: 'document', sourceClientId: 'kyc-bank' },
        { type: 'address', value: { line1: '1 Navy Way', city: 'Arlington', state: 'VA', zipCode: '22202', country: 'US' }, verificationMethod: 'electronic_record', sourceClientId: 'kyc-bank' },
        { type: 'ssn', value: '987654321', verificationMethod: 'electronic_record', sourceClientId: 'kyc-bank' },
      ]);
      await platform.services.clients.save({
        clientId: 'acme',
        name: 'Acme Corp',
        oneClick: { integration: 'hosted', environment: 'production', defaultRedirectUrl: `${operator.origin}/acme`, displayName: 'Acme', title: 'Apply' },
      });
      const acmeKey = (await platform.services.apiKeys.create('acme')).key;
      const started = await start({ phone: phoneNumber, credentialRequests: [{ type: 'FullNameCredential' }, { type: 'BirthDateCredential' }, { type: 'AddressCredential' }] }, acmeKey);
      assert.notEqual(started.code, SANDBOX_CODE);
      const { context, page } = await phone(browser);
      try {
        await page.goto(started.url);
        await assertAccessible(page, '1-Click Apply');
        await page.getByLabel('Verification code').fill(started.code);
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForFunction(() => document.querySelector('h2')?.textContent === 'Review your information');
        assert.equal(await page.getByLabel('First name').inputValue(), 'Grace');
        assert.equal(await page.getByLabel('City').inputValue(), 'Arlington');
        assert.doesNotMatch(await page.content(), /987654321/, 'what was not asked for is not shown');
        await page.getByRole('button', { name: 'Share with Acme' }).click();
        await page.waitForURL(`${operator.origin}/acme?identityUuid=${started.uuid}`);

        const consent = (await platform.services.consents.ofPerson(user.id)).find((c) => c.flowId === started.uuid);
        assert.ok(consent, 'the share is recorded as a consent naming the request');
        assert.equal(consent.clientId, 'acme');
        assert.deepEqual(new Set(consent.credentialIds), new Set([name!.id, birth!.id, address!.id]), 'exactly the wallet credentials shared');
        assert.ok(consent.createdAt instanceof Date);
        const shared = await api('GET', `/1-click/${started.uuid}`, acmeKey);
        assert.equal(shared.body.metadata.credentials.id.birthDate, birth!.id);
        assert.equal(shared.body.metadata.credentials.verificationMethod.birthDate, 'document');
      } finally {
        await context.close();
      }
    });

    // ── The HTTP side of the pages (no browser needed) ─────────────────────────────────

    /**
     * A page as a plain client sees it: status, headers, body; redirects are not followed.
     * `jar` plays the browser's cookie store for the one cookie the pages set.
     */
    async function fetchPage(path: string, form?: Record<string, string>, jar?: { cookie?: string }) {
      const headers: Record<string, string> = {
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(jar?.cookie ? { cookie: jar.cookie } : {}),
      };
      const response = await fetch(`${platform.url}${path}`, {
        redirect: 'manual',
        headers,
        ...(form ? { method: 'POST', body: new URLSearchParams(form).toString() } : {}),
      });
      const set = response.headers.get('set-cookie');
      if (jar && set) jar.cookie = set.split(';')[0];
      return { status: response.status, headers: response.headers, body: await response.text() };
    }
    const csrfOf = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)![1]!;
    const walletPath = (uuid: string, step = '') => `/1-click/wallet/${uuid}${step ? `/${step}` : ''}`;

    it('refuses forms without the token bound to the request, costing no attempt and changing nothing', async () => {
      const started = await start({ phone: freshPhone() });
      const other = await start({ phone: freshPhone() });
      const otherToken = csrfOf((await fetchPage(walletPath(other.uuid))).body);
      for (const csrf of ['', 'forged', otherToken]) {
        const answer = await fetchPage(walletPath(started.uuid, 'code'), { csrf, code: started.code });
        assert.equal(answer.status, 403);
        assert.match(answer.body, /This page has expired/);
        assert.equal(answer.headers.get('cache-control'), 'no-store');
      }
      for (const step of ['share', 'decline', 'input']) assert.equal((await fetchPage(walletPath(started.uuid, step), { csrf: otherToken })).status, 403);
      assert.equal((await platform.services.oneClick.viewForPerson(started.uuid)).step, 'code');
      // Three wrong forged tries would have ended it; the right code still works.
      const csrf = csrfOf((await fetchPage(walletPath(started.uuid))).body);
      const ok = await fetchPage(walletPath(started.uuid, 'code'), { csrf, code: started.code });
      assert.equal(ok.status, 303);
      assert.equal(ok.headers.get('location'), walletPath(started.uuid));
      assert.equal(ok.headers.get('cache-control'), 'no-store');
    });

    it('after the code, only the browser that entered it sees the data or acts; the token lives in a cookie scoped to the request', async () => {
      const started = await start({ phone: freshPhone(), credentialRequests: [{ type: 'FullNameCredential' }] });
      const person: { cookie?: string } = {};
      const entered = await fetchPage(`${walletPath(started.uuid)}?code=${started.code}`, undefined, person);
      assert.equal(entered.status, 303);
      assert.equal(entered.headers.get('location'), walletPath(started.uuid));
      const setCookie = entered.headers.get('set-cookie')!;
      assert.match(setCookie, /^idflow_1click=[A-Za-z0-9_-]{43}; /);
      assert.match(setCookie, new RegExp(`Path=${walletPath(started.uuid)};`));
      assert.match(setCookie, /HttpOnly/);
      assert.match(setCookie, /SameSite=Lax/);
      assert.match((await fetchPage(walletPath(started.uuid), undefined, person)).body, /Review your information/);

      // Someone else with the link (the operator has it too): no data, no acting.
      const stranger = await fetchPage(walletPath(started.uuid));
      assert.equal(stranger.status, 403);
      assert.match(stranger.body, /Continue where you entered the code/);
      assert.doesNotMatch(stranger.body, /Richard|Hendricks/);
      const csrf = csrfOf((await fetchPage(walletPath(started.uuid), undefined, person)).body);
      for (const [step, form] of [['share', { csrf, 'f.fullName.firstName': 'Mallory' }], ['decline', { csrf }]] as const) {
        const answer = await fetchPage(walletPath(started.uuid, step), form, { cookie: 'idflow_1click=forged' });
        assert.equal(answer.status, 403, step);
        assert.match(answer.body, /Continue where you entered the code/);
      }
      assert.equal((await platform.services.oneClick.viewForPerson(started.uuid)).step, 'review', 'still waiting for the person');

      const share = await fetchPage(walletPath(started.uuid, 'share'), { csrf, 'f.fullName.firstName': 'Richard', 'f.fullName.lastName': 'Hendricks' }, person);
      assert.equal(share.status, 303);
      assert.match(share.headers.get('set-cookie')!, /^idflow_1click=; .*Max-Age=0/, 'the token is dropped once the request is over');
    });

    it('takes no state from the form: read-only, unknown and malformed fields are refused and nothing is shared', async () => {
      const started = await start({ phone: freshPhone(), credentialRequests: [{ type: 'FullNameCredential' }, { type: 'BirthDateCredential', allowUserInput: false }] });
      const jar: { cookie?: string } = {};
      assert.equal((await fetchPage(`${walletPath(started.uuid)}?code=${started.code}`, undefined, jar)).status, 303);
      const review = await fetchPage(walletPath(started.uuid), undefined, jar);
      assert.equal(review.status, 200);
      assert.equal(review.headers.get('cache-control'), 'no-store');
      const csrf = csrfOf(review.body);
      const base = { csrf, 'f.fullName.firstName': 'Richard', 'f.fullName.lastName': 'Hendricks' };

      const readOnly = await fetchPage(walletPath(started.uuid, 'share'), { ...base, 'f.birthDate': '2001-01-01' }, jar);
      assert.equal(readOnly.status, 400);
      assert.match(readOnly.body, /role="alert"[^>]*>Date of birth cannot be changed/);
      const unknown = await fetchPage(walletPath(started.uuid, 'share'), { ...base, 'f.ssn': '123456789' }, jar);
      assert.equal(unknown.status, 400);
      assert.match(unknown.body, /ssn is not a field of this request/);
      const notAField = await fetchPage(walletPath(started.uuid, 'share'), { ...base, state: 'shared' }, jar);
      assert.equal(notAField.status, 400);
      assert.match(notAField.body, /could not be read/);
      assert.equal(notAField.headers.get('cache-control'), 'no-store');
      assert.equal((await api('GET', `/1-click/${started.uuid}`, key)).status, 409, 'nothing was shared');

      const share = await fetchPage(walletPath(started.uuid, 'share'), base, jar);
      assert.equal(share.status, 303);
      assert.equal(share.headers.get('location'), `${callback()}?identityUuid=${started.uuid}`);
      // A second press of the button (or a replay) shares nothing new.
      const replay = await fetchPage(walletPath(started.uuid, 'share'), { ...base, 'f.fullName.firstName': 'Someone' }, jar);
      assert.equal(replay.status, 303);
      assert.equal((await api('GET', `/1-click/${started.uuid}`, key)).body.credentials.fullName.firstName, 'Richard');
    });

    it('a birth date or SSN4: either one is enough; too many wrong ones leave the person only a way back', async () => {
      const both = await start({ phone: '+10019999999', credentialRequests: [{ type: 'FullNameCredential' }] });
      const jar: { cookie?: string } = {};
      assert.equal((await fetchPage(`${walletPath(both.uuid)}?code=${both.code}`, undefined, jar)).status, 303);
      const asked = await fetchPage(walletPath(both.uuid), undefined, jar);
      assert.match(asked.body, /needs your date of birth or the last 4 digits of your Social Security number\. Either one is enough\./);
      assert.match(asked.body, /<label for="birthDate">/);
      assert.match(asked.body, /<label for="ssn4">/);
      const answered = await fetchPage(walletPath(both.uuid, 'input'), { csrf: csrfOf(asked.body), birthDate: '', ssn4: '6789' }, jar);
      assert.equal(answered.status, 303);
      assert.match((await fetchPage(walletPath(both.uuid), undefined, jar)).body, /Review your information/);

      const ssn = await start({ phone: '+10019999996', credentialRequests: [{ type: 'FullNameCredential' }] });
      const jar2: { cookie?: string } = {};
      await fetchPage(`${walletPath(ssn.uuid)}?code=${ssn.code}`, undefined, jar2);
      const csrf = csrfOf((await fetchPage(walletPath(ssn.uuid), undefined, jar2)).body);
      const malformed = await fetchPage(walletPath(ssn.uuid, 'input'), { csrf, ssn4: '12' }, jar2);
      assert.equal(malformed.status, 400);
      assert.match(malformed.body, /Enter exactly 4 digits/);
      for (const wrong of ['0000', '1111', '2222']) {
        const answer = await fetchPage(walletPath(ssn.uuid, 'input'), { csrf, ssn4: wrong }, jar2);
        assert.equal(answer.status, 400);
        assert.match(answer.body, /does not match our records/);
      }
      const blocked = await fetchPage(walletPath(ssn.uuid, 'input'), { csrf, ssn4: '6789' }, jar2);
      assert.equal(blocked.status, 429);
      assert.match(blocked.body, /Too many tries/);
      assert.doesNotMatch(blocked.body, /name="ssn4"/);
      const leave = await fetchPage(walletPath(ssn.uuid, 'decline'), { csrf: csrfOf(blocked.body) }, jar2);
      assert.equal(leave.status, 303);
      assert.equal(leave.headers.get('location'), `${callback()}?identityUuid=${ssn.uuid}&error=declined`);
    });

    it('unknown, malformed and non-Hosted links get a page that says so', async () => {
      assert.equal((await fetchPage(walletPath('00000000-0000-4000-8000-000000000000'))).status, 404);
      const malformed = await fetchPage(walletPath('not-a-uuid'));
      assert.equal(malformed.status, 404);
      assert.match(malformed.body, /This link does not work/);
      assert.equal(malformed.headers.get('cache-control'), 'no-store');
      assert.match(malformed.headers.get('content-type')!, /^text\/html/);
      await platform.services.clients.save({ clientId: 'semi', name: 'Semi', oneClick: { integration: 'semi_hosted', environment: 'sandbox' } });
      const semiKey = (await platform.services.apiKeys.create('semi')).key;
      const semi = await api('POST', '/1-click', semiKey, { phone: freshPhone() });
      assert.equal((await fetchPage(walletPath(semi.body.uuid))).status, 404);
    });

    it('logs no personal data and no codes', () => {
      assert.ok(logLines.length > 0, 'requests were logged');
      const all = logLines.join('\n');
      for (const secret of ['Richard', 'Hendricks', 'rich@example.com', '1989-08-01', '1979-01-01', RICHARD, encodeURIComponent(RICHARD), SANDBOX_CODE, 'Grace', '1906-12-09']) {
        assert.ok(!all.includes(secret), `the log holds ${secret}`);
      }
    });
  });
}
