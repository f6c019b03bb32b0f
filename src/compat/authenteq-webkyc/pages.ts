import type { FastifyReply, FastifyRequest } from 'fastify';
import { toAppError } from '../../http/problem.ts';
import type { WebKycPageView } from '../../kyc/web-kyc.ts';
import type { FatalReason } from '../../kyc/web-kyc-request.ts';
import { html, type Html } from '../../ui/html.ts';
import { page } from '../../ui/layout.ts';

/**
 * The hosted pages around a Web KYC verification: the introduction (what will happen, Start,
 * Cancel, the operator's "Back to …" link), the waiting page and the error pages. The
 * verification steps themselves are the provider's pages.
 */

/** The operator's `back_url`, named by its host so the person sees where the link goes. */
function backLink(view: WebKycPageView): Html | string {
  if (!view.backUrl) return '';
  const host = URL.parse(view.backUrl)?.host ?? view.backUrl;
  return html`<p><a class="back" href="${view.backUrl}" rel="noreferrer">Back to ${host}</a></p>`;
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

/** Reloads itself every 2 seconds (no script needed) until the result is in. */
export function waitingPage(view: WebKycPageView): string {
  const markup = page({
    title: 'Checking your document…',
    context: view.clientName,
    body: html`<p role="status">We are checking your document and your photos. This page updates by itself; it usually takes a few seconds.</p>
<p><a class="button secondary" href="/web-kyc/flows/${view.flowId}/continue">Check now</a></p>
${backLink(view)}`,
  });
  return markup.replace('</head>', '<meta http-equiv="refresh" content="2">\n</head>');
}

/** The hand-over to a vendor's own pages is the one every door uses. */
export { handOffPage } from '../../ui/pages/verification.ts';

export function finishedPage(view: WebKycPageView, verified: boolean): string {
  return page({
    title: verified ? 'Verification complete' : 'Verification ended',
    context: view.clientName,
    body: html`<p>${verified ? `Your identity has been sent to ${view.clientName}.` : `This verification has ended.`} You can close this window.</p>${backLink(view)}`,
  });
}

const FATAL_TEXT: Record<FatalReason | 'unknown_flow' | 'other_browser' | 'bad_request' | 'server_error', { title: string; message: string; code: string }> = {
  missing_client_id: { title: 'This link is not complete', message: 'The link that brought you here does not name the application asking for the verification.', code: 'invalid_request' },
  unknown_client: { title: 'Unknown application', message: 'The application that sent you here is not registered.', code: 'invalid_client' },
  missing_redirect_uri: { title: 'This link is not complete', message: 'The link that brought you here does not say where to return.', code: 'invalid_request' },
  redirect_uri_not_registered: { title: 'This link is not valid', message: 'The return address in the link is not one the application registered.', code: 'invalid_redirect_uri' },
  redirect_uri_not_secure: { title: 'This link is not valid', message: 'The return address in the link is not a secure (https) address.', code: 'invalid_redirect_uri' },
  unknown_flow: { title: 'This verification has ended', message: 'It is complete, expired or unknown. Go back to the application and start again.', code: 'unknown_flow' },
  other_browser: { title: 'Continue in the same browser', message: 'This verification was started in another browser or window. Go back to the application and start again here.', code: 'other_browser' },
  bad_request: { title: 'This link is not valid', message: 'Go back to the application and start again.', code: 'invalid_request' },
  server_error: { title: 'Something went wrong', message: 'The verification could not continue because of a problem on our side. Try again in a moment.', code: 'server_error' },
};

/** An error shown to the person, never sent to a redirect URI. */
export function errorPage(reason: keyof typeof FATAL_TEXT): string {
  const text = FATAL_TEXT[reason];
  return page({ title: text.title, body: html`<p>${text.message}</p><p class="muted">Error: <code>${text.code}</code></p>` });
}

/** The Web KYC pages' one error renderer: a page, never JSON, never a redirect to an unchecked URI. */
export function sendWebKycPageError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = toAppError(error, request).status;
  const [code, reason] = status >= 500 ? [500, 'server_error' as const] : status === 404 ? [404, 'unknown_flow' as const] : [400, 'bad_request' as const];
  return reply.code(code).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(errorPage(reason));
}
