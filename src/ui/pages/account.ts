import type { ConsentDoor, ConsentRecord } from '../../consent/consents.ts';
import { html } from '../html.ts';
import { page } from '../layout.ts';
import { signInForm, type SignInFormInput } from './oauth.ts';

export const ACCOUNT_PATH = '/account';

/** What a field or claim handed over is, in the person's words; an unknown name is shown as it is. */
const FIELD_TEXT: Record<string, string> = {
  // OpenID Connect claims
  sub: 'Your account id',
  email: 'Email address',
  email_verified: 'Whether your email address is verified',
  phone_number: 'Phone number',
  phone_number_verified: 'Whether your phone number is verified',
  verified_claims: 'Your verified identity (name, date of birth, document)',
  // 1-Click credentials
  phone: 'Phone number',
  fullName: 'Full name',
  birthDate: 'Date of birth',
  address: 'Address',
  ssn: 'Social Security number',
  // Identity document details (Web KYC)
  documentType: 'Document type',
  documentNumber: 'Document number',
  issuingCountry: 'Issuing country',
  givenNames: 'Given names',
  surname: 'Surname',
  dateOfBirth: 'Date of birth',
  nationality: 'Nationality',
  dateOfIssue: 'Date of issue',
  dateOfExpiry: 'Date of expiry',
  sex: 'Sex',
  documentFront: 'Photo of the document (front)',
  documentBack: 'Photo of the document (back)',
};

const DOOR_TEXT: Record<ConsentDoor, string> = {
  oidc: 'You allowed it when signing in',
  one_click: 'Shared with 1-Click',
  web_kyc: 'Handed over after an identity verification',
};

const WHEN = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });

export function accountSignInPage(input: SignInFormInput): string {
  return page({
    title: 'Your account',
    body: html`<p class="muted">Sign in to see what you have shared with applications.</p>
${signInForm(`${ACCOUNT_PATH}/sign-in`, input)}`,
  });
}

/** Every hand-over of the person's data, newest first: to whom, when, how and what (never the values). */
export function sharedDataPage(consents: ConsentRecord[]): string {
  const items = consents.map(
    (c) => html`<li class="hand-over">
  <h2>${c.clientName}</h2>
  <p class="muted"><time datetime="${c.createdAt.toISOString()}">${WHEN.format(c.createdAt)} UTC</time> · ${DOOR_TEXT[c.door]}</p>
  <ul class="scopes">${c.shared.map((field) => html`<li>${FIELD_TEXT[field] ?? field}</li>`)}</ul>
</li>`,
  );
  return page({
    title: 'Shared with applications',
    body: html`<p class="muted">What idflow has handed over about you, to whom and when. The applications received these details; idflow keeps this list, not the values.</p>
${items.length ? html`<ol class="hand-overs">${items}</ol>` : html`<p>You have not shared anything with an application yet.</p>`}
<a class="button secondary" href="/oauth/logout">Sign out</a>`,
  });
}
