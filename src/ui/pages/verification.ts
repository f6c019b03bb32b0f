import type { RejectionReason } from '../../verification/types.ts';
import { html } from '../html.ts';
import { page } from '../layout.ts';

/** Seconds between two looks of the waiting page at the verification. */
export const CHECKING_REFRESH_SECONDS = 2;

/** While a vendor's result is pending: a page that looks again by itself (no script). */
export function checkingPage(id: string): string {
  return page({
    title: 'Checking your document…',
    context: 'Identity verification',
    body: html`<meta http-equiv="refresh" content="${CHECKING_REFRESH_SECONDS}">
<p role="status" aria-live="polite">This usually takes a few seconds. This page looks again by itself; you can also
<a href="/verification/${id}/return">check now</a>.</p>`,
  });
}

/**
 * Hands the person over to a verification vendor's own pages. A page, not a redirect: the
 * Start form's policy (form-action) would have to name the vendor, whose address is known
 * only once the session exists; a page that moves on by itself is a navigation of its own.
 */
export function handOffPage(url: string): string {
  const markup = page({
    title: 'Opening the verification…',
    body: html`<p role="status">Taking you to the verification service.</p>
<p><a class="button" href="${url}" rel="noreferrer">Continue</a></p>`,
  });
  return markup.replace('</head>', html`<meta http-equiv="refresh" content="0;url=${url}">\n</head>`.toString());
}

/** The step of a sign-in that verifies the person's identity before the client gets it. */
export function verificationStepPage(input: { uid: string; clientName: string; csrf: string }): string {
  return page({
    title: 'Verify your identity',
    context: input.clientName,
    body: html`<p>${input.clientName} asks for your verified identity: your name and date of birth as an identity document shows them.</p>
<p class="muted">It takes a few minutes: a photo of your face and of your passport or identity card. What is verified stays in your account, and ${input.clientName} sees it only if you allow it next.</p>
${actions(input, 'Verify my identity')}`,
  });
}

const REASON_TEXT: Record<RejectionReason, string> = {
  liveness_failed: 'The photo of your face did not show a live person. Take a new photo of yourself, not of a picture or a screen.',
  face_mismatch: 'Your face did not match the photo in the document.',
  document_expired: 'The document has expired. Use one that is still valid.',
  document_unreadable: 'The document could not be read. Take a sharper photo in good light, with the whole page in view.',
  mrz_check_digit: 'The machine-readable lines of the document did not check out. Take a sharper photo of them.',
  mrz_visual_mismatch: 'What is printed on the document did not match its machine-readable lines.',
  provider_timeout: 'The verification took too long and has ended.',
  provider_declined: 'The verification service declined the document.',
  cancelled_by_person: 'You left the verification before it was finished.',
};

/** A verification in a sign-in that did not succeed: why, and a way to try again or stop. */
export function verificationFailedPage(input: { uid: string; clientName: string; csrf: string; reasons: RejectionReason[] }): string {
  const reasons = input.reasons.length ? input.reasons : (['provider_declined'] as RejectionReason[]);
  return page({
    title: 'Your identity could not be verified',
    context: input.clientName,
    body: html`<div class="alert" role="alert">${reasons.map((r) => html`<p>${REASON_TEXT[r] ?? REASON_TEXT.provider_declined}</p>`)}</div>
${actions(input, 'Try again')}`,
  });
}

function actions(input: { uid: string; csrf: string }, verify: string) {
  return html`<form method="post" action="/interaction/${input.uid}/verify">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <button type="submit" autofocus>${verify}</button>
</form>
<form method="post" action="/interaction/${input.uid}/abort">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <button type="submit" class="secondary">Cancel</button>
</form>`;
}
