import type { OAuthPages } from '../../oauth/pages.ts';
import { errorPage } from '../error-page.ts';
import { html, trusted, type Html } from '../html.ts';
import { alert, page } from '../layout.ts';
import { withFormDestinations } from '../page-security.ts';

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  email: 'See your email address',
  phone: 'See your phone number',
  offline_access: 'Stay signed in when you are not using it',
  kyc: 'See your verified identity (name, date of birth, document)',
};

export interface SignInFormInput {
  csrf: string;
  username?: string | undefined;
  error?: string | undefined;
}

/** The one sign-in form (an application's login page, the account page), with its error. */
export function signInForm(action: string, input: SignInFormInput): Html {
  const invalid = input.error ? 'true' : 'false';
  return html`${alert(input.error)}
<form method="post" action="${action}" novalidate>
  <input type="hidden" name="csrf" value="${input.csrf}">
  <label for="username">Email or phone number</label>
  <input id="username" name="username" type="text" autocomplete="username" inputmode="email" required
    value="${input.username ?? ''}" aria-invalid="${invalid}" ${input.error ? html`aria-describedby="form-error"` : ''} autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required aria-invalid="${invalid}">
  <button type="submit">Sign in</button>
</form>`;
}

export function loginPage(input: SignInFormInput & { uid: string; clientName: string }): string {
  return page({
    title: 'Sign in',
    context: input.clientName,
    body: html`<p class="muted">to continue to ${input.clientName}</p>
${signInForm(`/interaction/${input.uid}/login`, input)}
<form method="post" action="/interaction/${input.uid}/abort">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <button type="submit" class="secondary">Cancel</button>
</form>`,
  });
}

export function consentPage(input: { uid: string; clientName: string; csrf: string; scopes: string[]; claims: string[] }): string {
  const asked = [...input.scopes];
  // Verified claims asked for through the claims parameter, not the kyc scope, are still named.
  if (input.claims.includes('verified_claims') && !asked.includes('kyc')) asked.push('kyc');
  const items = asked.map((s) => html`<li>${SCOPE_TEXT[s] ?? s}</li>`);
  return page({
    title: `Allow ${input.clientName}?`,
    context: input.clientName,
    body: html`<p>${input.clientName} is asking to:</p>
<ul class="scopes">${items.length ? items : html`<li>Know who you are</li>`}</ul>
<form method="post" action="/interaction/${input.uid}/consent">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <button type="submit" autofocus>Allow</button>
</form>
<form method="post" action="/interaction/${input.uid}/abort">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <button type="submit" class="secondary">Deny</button>
</form>`,
  });
}


/** The pages the OAuth engine shows by itself, handed to it when it is built (src/services.ts). */
export const oauthPages: OAuthPages = {
  error: (view, status) => errorPage(view, status),
  logout: (form) =>
    page({
      title: 'Sign out',
      body: html`<p>Do you want to sign out?</p>${trusted(form)}<button form="op.logoutForm" type="submit" name="logout" value="yes" autofocus>Sign out</button><button form="op.logoutForm" class="secondary" type="submit">Stay signed in</button>`,
    }),
  signedOut: () => page({ title: 'Signed out', body: html`<p>You are signed out.</p>` }),
  withFormDestinations,
};
