import type { RejectionReason } from '../../verification/types.ts';
import { retryCanHelp } from '../../verification/retry.ts';
import { errorPage, type PageLink } from '../error-page.ts';
import { html, type Html } from '../html.ts';
import { page } from '../layout.ts';

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

/** Each reason code (docs/verification.md) as the person is told it, with what may help. */
const REASON_TEXT: Record<RejectionReason | 'expired', string> = {
  liveness_failed: 'The photo of your face did not show a live person. Take a new photo of yourself, not of a picture or a screen.',
  face_mismatch: 'Your face did not match the photo in the document.',
  document_expired: 'The document has expired. Use one that is still valid.',
  document_unreadable: 'The document could not be read. Take a sharper photo in good light, with the whole page in view.',
  mrz_check_digit: 'The machine-readable lines of the document did not check out. Take a sharper photo of them.',
  mrz_visual_mismatch: 'What is printed on the document did not match its machine-readable lines.',
  provider_timeout: 'The verification took too long and has ended.',
  provider_declined: 'The verification service declined the document.',
  cancelled_by_person: 'You left the verification before it was finished.',
  expired: 'The verification stayed open too long and was closed for your security.',
};

/**
 * A verification that did not succeed, on any door: the hosted error page with each reason
 * in words, then a retry where trying again can change the outcome (the caller asks
 * `retryCanHelp`, src/verification/retry.ts) and the way back; `actions` when those must be
 * posted forms.
 */
export function failedVerificationPage(input: {
  reasons: readonly string[];
  context?: string | undefined;
  retry?: PageLink | undefined;
  back?: PageLink | undefined;
  actions?: Html | undefined;
}): string {
  const reasons = input.reasons.length ? input.reasons : ['provider_declined'];
  const texts = [...new Set(reasons.map((r) => REASON_TEXT[r as RejectionReason] ?? REASON_TEXT.provider_declined))];
  return errorPage(
    {
      code: 'verification_failed',
      reference: reasons.join(' '),
      context: input.context,
      details: html`${texts.map((t) => html`<p>${t}</p>`)}`,
      message: 'Nothing was shared.',
      retry: input.retry,
      back: input.back,
      actions: input.actions,
    },
    200,
  );
}

/** A verification in a sign-in that did not succeed: why, a way to try again where that can help, and a way to stop. */
export function verificationFailedPage(input: { uid: string; clientName: string; csrf: string; reasons: RejectionReason[] }): string {
  return failedVerificationPage({ reasons: input.reasons, context: input.clientName, actions: actions(input, retryCanHelp(input.reasons) ? 'Try again' : undefined) });
}

function actions(input: { uid: string; csrf: string }, verify: string | undefined) {
  return html`${verify ? html`<form method="post" action="/interaction/${input.uid}/verify">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <button type="submit" autofocus>${verify}</button>
</form>` : ''}
<form method="post" action="/interaction/${input.uid}/abort">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <button type="submit" class="secondary">Cancel</button>
</form>`;
}
