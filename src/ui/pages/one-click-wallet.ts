import type { AdditionalInput } from '../../one-click/errors.ts';
import type { PersonField } from '../../one-click/review.ts';
import type { PersonView } from '../../one-click/person-api.ts';
import { html, trusted, type Html } from '../html.ts';
import { errorPage } from '../error-page.ts';
import { alert, page } from '../layout.ts';

/**
 * The Hosted 1-Click wallet pages: the code, the birth date (or SSN4) when the source needs
 * one, the review of the data with the person's edits, and the pages that end a request.
 * Plain forms, no script; every page is "1-Click {title}" with the brand's name above it.
 */

export const WALLET_PATH = '/1-click/wallet';

export type Brand = PersonView['brand'];

/** What every form page needs: the request, whose brand it is, and the form token bound to it. */
export interface FormPage {
  uuid: string;
  brand: Brand;
  csrf: string;
}

/** A form field's name: `f.` + the core's field id, so no field can collide with `csrf`. */
export const FIELD_PREFIX = 'f.';

function walletPage(brand: Brand, body: Html): string {
  return page({
    title: `1-Click ${brand.title}`,
    context: brand.name,
    body: html`${brand.description ? html`<p class="lead">${brand.description}</p>` : ''}${body}`,
  });
}

function hidden(csrf: string): Html {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

function declineForm(input: FormPage, label = 'Decline'): Html {
  return html`<form method="post" action="${WALLET_PATH}/${input.uuid}/decline">
  ${hidden(input.csrf)}
  <button type="submit" class="secondary">${label}</button>
</form>`;
}

/** `aria-describedby` from the ids that apply, or nothing. */
function describedBy(ids: (string | false | undefined)[]): Html | string {
  const list = ids.filter(Boolean).join(' ');
  return list ? html` aria-describedby="${list}"` : '';
}

// ── Step 1: the code ───────────────────────────────────────────────────────────────────

export function codePage(input: FormPage & { phoneHint: string; error?: string | undefined }): string {
  return walletPage(
    input.brand,
    html`<h2>Enter your code</h2>
<p id="code-help">${input.brand.name} sent a 6-digit code by text message to your phone number ending in ${input.phoneHint}.</p>
${alert(input.error)}
<form method="post" action="${WALLET_PATH}/${input.uuid}/code" novalidate>
  ${hidden(input.csrf)}
  <label for="code">Verification code</label>
  <input id="code" name="code" type="text" class="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6"
    required aria-required="true" aria-invalid="${input.error ? 'true' : 'false'}"${describedBy(['code-help', input.error && 'form-error'])} autofocus>
  <button type="submit">Continue</button>
</form>`,
  );
}

// ── Step 2: the birth date / SSN4 the source needs ─────────────────────────────────────

const INPUT_TEXT: Record<AdditionalInput, string> = {
  birthDate: 'your date of birth',
  ssn4: 'the last 4 digits of your Social Security number',
};

export function inputPage(
  input: FormPage & { needs: AdditionalInput[]; birthDate?: string | undefined; error?: string | undefined; invalid?: AdditionalInput[] | undefined },
): string {
  const needs = input.needs.length ? input.needs : (['birthDate'] as AdditionalInput[]);
  const either = needs.length > 1;
  const invalid = (k: AdditionalInput) => (input.invalid ?? []).includes(k);
  const fields: Record<AdditionalInput, Html> = {
    birthDate: html`<label for="birthDate">Date of birth</label>
  <input id="birthDate" name="birthDate" type="date" autocomplete="bday" value="${input.birthDate ?? ''}"${either ? '' : html` required aria-required="true"`}
    aria-invalid="${invalid('birthDate') ? 'true' : 'false'}"${describedBy(['input-help', invalid('birthDate') && 'form-error'])}${needs[0] === 'birthDate' ? trusted(' autofocus') : ''}>`,
    ssn4: html`<label for="ssn4">Last 4 digits of your Social Security number</label>
  <input id="ssn4" name="ssn4" type="text" inputmode="numeric" autocomplete="off" pattern="[0-9]{4}" maxlength="4"${either ? '' : html` required aria-required="true"`}
    aria-invalid="${invalid('ssn4') ? 'true' : 'false'}"${describedBy(['input-help', invalid('ssn4') && 'form-error'])}${needs[0] === 'ssn4' ? trusted(' autofocus') : ''}>`,
  };
  return walletPage(
    input.brand,
    html`<h2>Confirm it is you</h2>
<p id="input-help">To find your information, ${input.brand.name} needs ${needs.map((k) => INPUT_TEXT[k]).join(' or ')}.${either ? ' Either one is enough.' : ''}</p>
${alert(input.error)}
<form method="post" action="${WALLET_PATH}/${input.uuid}/input" novalidate>
  ${hidden(input.csrf)}
  ${needs.map((k) => fields[k])}
  <button type="submit">Continue</button>
</form>
${declineForm(input)}`,
  );
}

// ── Step 3: review, edit, share or decline ─────────────────────────────────────────────

/** What the browser can fill in, by credential key (HTML autofill tokens). */
const AUTOCOMPLETE: Record<string, string> = {
  firstName: 'given-name',
  middleName: 'additional-name',
  lastName: 'family-name',
  email: 'email',
  phone: 'tel',
  line1: 'address-line1',
  line2: 'address-line2',
  city: 'address-level2',
  state: 'address-level1',
  zipCode: 'postal-code',
  country: 'country',
  birthDate: 'bday',
  ssn: 'off',
};

function inputKind(key: string): Html {
  switch (key) {
    case 'email':
      return trusted(' type="email"');
    case 'phone':
      return trusted(' type="tel"');
    case 'birthDate':
      return trusted(' type="date"');
    case 'zipCode':
    case 'ssn':
      return trusted(' type="text" inputmode="numeric"');
    default:
      return trusted(' type="text"');
  }
}

/** `fullName.firstName` → `f-fullName-firstName`: an element id without dots. */
export function elementId(fieldId: string): string {
  return `f-${fieldId.replaceAll('.', '-')}`;
}

/** A field id carries the value's index when the request is `multi` (`address.1.line1`). */
function isMulti(field: PersonField): boolean {
  return /\.\d+(\.|$)/.test(field.id);
}

interface Section {
  legend?: string;
  fields: PersonField[];
}

/**
 * Fields in the order the core gives them: a composite value (a name, an address) is one
 * fieldset, each of several values (`multi`) its own, numbered; single values share a list.
 */
function sections(fields: PersonField[]): Section[] {
  const out: Section[] = [];
  const counts = new Map<string, number>();
  for (const f of fields) if (f.group) counts.set(f.group.key, Math.max(counts.get(f.group.key) ?? 0, f.group.index + 1));
  let current: Section | undefined;
  let currentKey: string | undefined;
  for (const f of fields) {
    const composite = f.group !== undefined && f.key !== f.group.key;
    const key = f.group ? `${f.group.key}${composite ? `.${f.group.index}` : ''}` : '';
    if (!current || key !== currentKey) {
      const total = f.group ? counts.get(f.group.key)! : 0;
      const legend = f.group ? (composite && isMulti(f) && total > 1 ? `${f.group.label} ${f.group.index + 1} of ${total}` : f.group.label) : undefined;
      current = { ...(legend ? { legend } : {}), fields: [] };
      currentKey = key;
      out.push(current);
    }
    current.fields.push(f);
  }
  return out;
}

export interface ReviewState {
  /** What the person typed (field id → value), shown again when the form comes back. */
  values?: Record<string, string> | undefined;
  /** Field ids that are required and were left empty. */
  missing?: ReadonlySet<string> | undefined;
  error?: string | undefined;
}

function fieldLabel(f: PersonField): string {
  // Several values of one leaf credential (two emails) are numbered; parts of a composite are not.
  return f.group && f.key === f.group.key && isMulti(f) ? `${f.label} ${f.group.index + 1}` : f.label;
}

function row(f: PersonField, state: ReviewState, autofocus: boolean): Html {
  const id = elementId(f.id);
  const label = fieldLabel(f);
  const hint = f.description ? `${id}-hint` : undefined;

  if (!f.editable) {
    const verified = isVerified(f) ? html` <span class="badge">Verified</span>` : '';
    return html`<dt>${label}</dt>
<dd>${f.value ? html`${shown(f)}${verified}` : html`<span class="muted">Not available</span>`}${
      hint ? html`<span class="hint" id="${hint}">${f.description}</span>` : ''
    }</dd>`;
  }
  const missing = state.missing?.has(f.id) ?? false;
  const error = missing ? `${id}-error` : undefined;
  const value = state.values?.[f.id] ?? f.value;
  // A value the person has changed is theirs now, whatever the stored one was.
  const verified = isVerified(f) && value.trim() === f.value ? html` <span class="badge">Verified</span>` : '';
  return html`<dt><label for="${id}">${label}${f.required ? html` <span class="required">(required)</span>` : ''}${verified}</label></dt>
<dd>${hint ? html`<span class="hint" id="${hint}">${f.description}</span>` : ''}
  <input id="${id}" name="${FIELD_PREFIX}${f.id}"${inputKind(f.key)} value="${value}" maxlength="200" autocomplete="${AUTOCOMPLETE[f.key] ?? 'on'}"${
    f.required ? trusted(' required aria-required="true"') : ''
  } aria-invalid="${missing ? 'true' : 'false'}"${describedBy([hint, error])}${autofocus ? trusted(' autofocus') : ''}>
  ${error ? html`<span class="field-error" id="${error}">${label} is required.</span>` : ''}</dd>`;
}

/** A value as the page may show it: masked when it is a secret (an SSN). */
const shown = (f: PersonField) => f.masked ?? f.value;

const isVerified = (f: PersonField) => Boolean(f.value && f.verificationMethod && f.verificationMethod !== 'self_attested');

/** A composite value the person may not change, on one line: "5320 Newell Rd, Palo Alto, CA, 94303, US". */
function summaryRow(section: Section): Html {
  const filled = section.fields.filter((f) => f.value);
  const verified = filled.length > 0 && filled.every(isVerified);
  return html`<dt>${section.legend}</dt>
<dd>${filled.length ? filled.map(shown).join(', ') : html`<span class="muted">Not available</span>`}${verified ? html` <span class="badge">Verified</span>` : ''}</dd>`;
}

/**
 * The review's body: single values and read-only composites as rows of description lists,
 * a composite the person may edit as a fieldset of its own.
 */
function reviewBody(fields: PersonField[], state: ReviewState): Html[] {
  const firstMissing = fields.find((f) => state.missing?.has(f.id))?.id;
  const blocks: Html[] = [];
  let rows: Html[] = [];
  const flush = () => {
    if (rows.length) blocks.push(html`<dl class="data">${rows}</dl>`);
    rows = [];
  };
  for (const section of sections(fields)) {
    if (!section.legend) rows.push(...section.fields.map((f) => row(f, state, f.id === firstMissing)));
    else if (!section.fields.some((f) => f.editable)) rows.push(summaryRow(section));
    else {
      flush();
      blocks.push(html`<fieldset class="group"><legend>${section.legend}</legend><dl class="data">${section.fields.map((f) => row(f, state, f.id === firstMissing))}</dl></fieldset>`);
    }
  }
  flush();
  return blocks;
}

export function reviewPage(input: FormPage & { fields: PersonField[] } & ReviewState): string {
  return walletPage(
    input.brand,
    html`<h2>Review your information</h2>
<p>${input.brand.name} is asking for the information below. Check it, change what you need to, then share it.</p>
${alert(input.error)}
<form method="post" action="${WALLET_PATH}/${input.uuid}/share" novalidate>
  ${hidden(input.csrf)}
  ${reviewBody(input.fields, input)}
  <button type="submit">Share with ${input.brand.name}</button>
</form>
${declineForm(input)}
<p class="muted small">Only what is shown here is shared, and only with ${input.brand.name}. If you decline, nothing is shared.</p>`,
  );
}

// ── Pages that end (or pause) a request ────────────────────────────────────────────────

export interface EndPage {
  brand: Brand;
  heading: string;
  message: string;
  /** The operator's redirect URL (with `identityUuid` and `error`), when the request is over. */
  returnUrl?: string | undefined;
  /** Somewhere else to go (this page again), when the request is not over. */
  link?: { href: string; text: string } | undefined;
}

export function endPage(input: EndPage): string {
  return walletPage(
    input.brand,
    html`<h2>${input.heading}</h2>
<p>${input.message}</p>
${input.returnUrl ? html`<a class="button" href="${input.returnUrl}">Return to ${input.brand.name}</a>` : ''}
${input.link ? html`<a class="button secondary" href="${input.link.href}">${input.link.text}</a>` : ''}`,
  );
}

/** Too many wrong birth dates: nothing more can be tried for now; the person may still leave. */
export function tooManyInputsPage(input: FormPage): string {
  return walletPage(
    input.brand,
    html`<h2>Too many tries</h2>
${alert('The details you entered did not match too many times. For your security, please try again later.')}
${declineForm(input, `Return to ${input.brand.name}`)}`,
  );
}

/** A link to no request (unknown, mistyped, not a Hosted one): the hosted error page, with no brand shown. */
export function unknownRequestPage(): string {
  return errorPage({ code: 'request_not_found', context: '1-Click' }, 404);
}
