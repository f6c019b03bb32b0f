import type { FastifyReply, FastifyRequest } from 'fastify';
import { toAppError } from '../../kernel/to-app-error.ts';
import type { ErrorCode } from '../../kernel/errors.ts';
import type { WebKycPageView } from '../../kyc/web-kyc.ts';
import type { FatalReason } from '../../kyc/web-kyc-request.ts';
import { html, type Html } from '../../ui/html.ts';
import { errorPage as hostedErrorPage, type PageLink } from '../../ui/error-page.ts';
import { failedVerificationPage } from '../../ui/pages/verification.ts';
import { waitingPage as sharedWaitingPage } from '../../ui/waiting-page.ts';
import { retryCanHelp } from '../../verification/retry.ts';
import { page } from '../../ui/layout.ts';

/**
 * The hosted pages around a Web KYC verification: the introduction (what will happen, Start,
 * Cancel, the operator's "Back to …" link), the waiting page and the error pages. The
 * verification steps themselves are the provider's pages.
 */

/** The operator's `back_url`, named by its host so the person sees where the link goes. */
function backOf(view: WebKycPageView): PageLink | undefined {
  return view.backUrl ? { href: view.backUrl, text: `Back to ${URL.parse(view.backUrl)?.host ?? view.backUrl}` } : undefined;
}

function backLink(view: WebKycPageView): Html | string {
  const back = backOf(view);
  return back ? html`<p><a class="back" href="${back.href}" rel="noreferrer">${back.text}</a></p>` : '';
}

export function introPage(view: WebKycPageView, csrf: string): string {
  const base = `/web-kyc/flows/${view.flowId}`;
  return page({
    title: 'Verify your identity',
    context: view.clientName,
    body: html`<p>${view.clientName} asks you to prove who you are. It takes about two minutes:</p>
<ol>
  <li>A liveness check with your camera, to show a real person is here.</li>
  <li>Photos of the front and back of your identity document (passport, identity card or driving licence).</li>
  <li>A match between your face and the photo on the document.</li>
</ol>
<p class="muted">${view.clientName} then receives the details printed on your document and the document images. They are deleted from idflow 15 minutes after ${view.clientName} collects them.</p>
<form method="post" action="${base}/start">
  <input type="hidden" name="csrf" value="${csrf}">
  <button type="submit" autofocus>Start verification</button>
</form>
<form method="post" action="${base}/cancel">
  <input type="hidden" name="csrf" value="${csrf}">
  <button type="submit" class="secondary">Cancel</button>
</form>
${backLink(view)}`,
  });
}

/**
 * While the result is not in: the one waiting page (it reloads itself for a while, then
 * offers to check again), with two ways out: stop the verification and go back to the
 * client (its redirect_uri, with access_denied), or the operator's "Back to …" link.
 */
export function waitingPage(view: WebKycPageView, wait: { since: Date; now: Date; csrf: string }): string {
  return sharedWaitingPage({
    context: view.clientName,
    checkHref: `/web-kyc/flows/${view.flowId}/continue`,
    since: wait.since,
    now: wait.now,
    back: backOf(view),
    leave: html`<form method="post" action="/web-kyc/flows/${view.flowId}/cancel">
  <input type="hidden" name="csrf" value="${wait.csrf}">
  <button type="submit" class="secondary">Stop and return to ${view.clientName}</button>
</form>`,
  });
}

/** The hand-over to a vendor's own pages is the one every door uses. */
export { handOffPage } from '../../ui/pages/verification.ts';

export function finishedPage(view: WebKycPageView, verified: boolean): string {
  if (!verified) return failedPage(view);
  return page({
    title: 'Verification complete',
    context: view.clientName,
    body: html`<p>Your identity has been sent to ${view.clientName}. You can close this window.</p>${backLink(view)}`,
  });
}

/**
 * A flow that ended without a verified identity (seen again after the hand-back): why, and,
 * where another attempt can help, the way to make one: a new verification is the
 * operator's to start, so the retry leads back to its site.
 */
function failedPage(view: WebKycPageView): string {
  const reasons = [view.failure ?? 'expired'];
  const back = backOf(view);
  const retry = back && retryCanHelp(reasons) ? { href: back.href, text: `Try again from ${URL.parse(back.href)?.host ?? back.href}` } : undefined;
  return failedVerificationPage({ reasons, context: view.clientName, retry, back: retry ? undefined : back });
}

/**
 * What the person is told when the flow cannot go on: a catalogue code, this door's words
 * for the situation, and the code a person can quote (OAuth's names, as /authorize speaks OAuth).
 */
const FATAL: Record<FatalReason | 'unknown_flow' | 'other_browser' | 'bad_request' | 'server_error', { code: ErrorCode; title: string; message: string; reference: string }> = {
  missing_client_id: { code: 'validation_failed', title: 'This link is not complete', message: 'The link that brought you here does not name the application asking for the verification.', reference: 'invalid_request' },
  unknown_client: { code: 'invalid_client', title: 'Unknown application', message: 'The application that sent you here is not registered, so we cannot verify you on its behalf.', reference: 'invalid_client' },
  missing_redirect_uri: { code: 'validation_failed', title: 'This link is not complete', message: 'The link that brought you here does not say where to return.', reference: 'invalid_request' },
  redirect_uri_not_registered: { code: 'invalid_redirect_uri', title: 'This link is not valid', message: 'The return address in the link is not one the application registered, so we did not send you there.', reference: 'invalid_redirect_uri' },
  redirect_uri_not_secure: { code: 'invalid_redirect_uri', title: 'This link is not valid', message: 'The return address in the link is not a secure (https) address, so we did not send you there.', reference: 'invalid_redirect_uri' },
  unknown_flow: { code: 'not_found', title: 'This verification has ended', message: 'It is complete, expired or unknown. Start again from the site or app that sent you here.', reference: 'unknown_flow' },
  other_browser: { code: 'other_browser', title: 'Continue in the same browser', message: 'This verification was started in another browser or window. Start again here from the site or app that sent you.', reference: 'other_browser' },
  bad_request: { code: 'validation_failed', title: 'This link is not valid', message: 'Start again from the site or app that sent you here.', reference: 'invalid_request' },
  server_error: { code: 'internal', title: 'Something went wrong', message: 'The verification could not continue because of a problem on our side. Try again in a moment.', reference: 'server_error' },
};

/** An error shown to the person, never sent to a redirect URI. */
export function errorPage(reason: keyof typeof FATAL): string {
  return hostedErrorPage(FATAL[reason]);
}

/** The Web KYC pages' one error renderer: a page, never JSON, never a redirect to an unchecked URI. */
export function sendWebKycPageError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = toAppError(error, request).status;
  const [code, reason] = status >= 500 ? [500, 'server_error' as const] : status === 404 ? [404, 'unknown_flow' as const] : [400, 'bad_request' as const];
  return reply.code(code).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(errorPage(reason));
}
