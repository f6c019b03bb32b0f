import type { ErrorCode } from '../kernel/errors.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';

/** A link a page offers: back to the client's site, or to try again. */
export interface PageLink {
  href: string;
  /** What the link says ("Back to Shop", "Try again"). */
  text: string;
}

export interface ErrorPageView {
  /** What went wrong, as the one catalogue names it; chooses the words. */
  code: ErrorCode;
  /** The code a person may quote to support, when the surface names it otherwise (OAuth's `invalid_client`); the catalogue code by default. */
  reference?: string | undefined;
  /** Small line above the title: who is asking (the operator's application) or which service this is. */
  context?: string | undefined;
  /** A title and sentence that say the situation better than the code's own (a surface's own words, for people too). */
  title?: string | undefined;
  message?: string | undefined;
  /** Back to the client's site: only a link whose origin the client registered. Without it, the page offers the neutral way out. */
  back?: PageLink | undefined;
  /** Where trying again can help, the way to do it. */
  retry?: PageLink | undefined;
  /** What exactly went wrong, announced as an alert above the message (a failed verification's reasons). */
  details?: Html | undefined;
  /** Forms that take the place of the links (a retry or a stop that must be posted). */
  actions?: Html | undefined;
}

interface Words {
  title: string;
  message: string;
}

/**
 * What a person reads for each catalogue code: what happened, in words, never the
 * developer's text. Codes not listed read as their status class does (below).
 */
const WORDS: Partial<Record<ErrorCode, Words>> = {
  validation_failed: { title: 'This page could not be read', message: 'Something in the link or the form that brought you here is missing or not right, so we could not go on.' },
  not_found: { title: 'This link does not work', message: 'The link may be mistyped, or it is too old and no longer leads anywhere.' },
  request_not_found: { title: 'This link does not work', message: 'The link may be mistyped, or it is too old and no longer leads anywhere.' },
  flow_expired: { title: 'This has expired', message: 'It stayed open too long, so it was closed for your security. Nothing was shared.' },
  request_expired: { title: 'This has expired', message: 'It stayed open too long, so it was closed for your security. Nothing was shared.' },
  invalid_client: { title: 'Unknown application', message: 'The application that sent you here is not registered with us, so we cannot continue on its behalf.' },
  unauthorized_client: { title: 'This application cannot ask for this', message: 'The application that sent you here is not set up for what it asked, so we stopped before anything happened.' },
  invalid_redirect_uri: { title: 'This link is not valid', message: 'The address the link asks us to send you back to is not one the application registered, so we did not send you there.' },
  other_browser: { title: 'Continue in the same browser', message: 'This was started in another browser or window, and can only be finished there.' },
  invalid_transition: { title: 'This step is already done', message: 'It was finished or ended in another tab or window.' },
  flow_conflict: { title: 'This step is already done', message: 'It was finished or ended in another tab or window.' },
  unauthenticated: { title: 'You are not signed in', message: 'This page needs you to be signed in.' },
  forbidden: { title: 'This is not available to you', message: 'You do not have access to this page.' },
  declined: { title: 'You said no', message: 'Nothing was shared.' },
  verification_failed: { title: 'Your identity could not be verified', message: 'The checks of your document and your photos did not pass. Nothing was shared.' },
  too_many_requests: { title: 'Too many attempts', message: 'For your security we paused this for a few minutes.' },
  payload_too_large: { title: 'That was too large', message: 'What you sent is larger than we accept.' },
  unsupported_media_type: { title: 'This page could not be read', message: 'What was sent is not in a form we accept.' },
  internal: { title: 'Something went wrong', message: 'A problem on our side stopped this page. Nothing was shared.' },
  unavailable: { title: 'Temporarily unavailable', message: 'The service is starting or busy. Nothing was shared.' },
};

function wordsFor(code: ErrorCode, status: number): Words {
  const words = WORDS[code];
  if (words) return words;
  if (status >= 500) return WORDS.internal!;
  if (status === 404 || status === 410) return WORDS.not_found!;
  if (status === 429) return WORDS.too_many_requests!;
  return WORDS.validation_failed!;
}

/** What to do next: try again where that can help, and always a way out. */
function waysOn(view: ErrorPageView): Html {
  const retry = view.retry ? html`<a class="button" href="${view.retry.href}">${view.retry.text}</a>` : '';
  if (view.back) {
    return html`${retry}<a class="button${view.retry ? ' secondary' : ''}" href="${view.back.href}" rel="noreferrer">${view.back.text}</a>`;
  }
  // No site of the client's to send the person to: say how to leave, without a link to guess.
  return html`${retry}<p class="muted small">You can close this page and go back to the site or app that sent you here.</p>`;
}

/**
 * The hosted pages' one error page, for every surface a person sees (sign-in and consent,
 * the OAuth endpoints a browser is sent to, 1-Click, Web KYC, verification): what
 * happened in words, a retry where it can help, the way back, and a reference a person
 * can quote to support. The HTTP status is the caller's.
 */
export function errorPage(view: ErrorPageView, status = 400): string {
  const words = wordsFor(view.code, status);
  return page({
    title: view.title ?? words.title,
    context: view.context,
    body: html`${view.details ? html`<div class="alert" role="alert">${view.details}</div>` : ''}
<p>${view.message ?? words.message}</p>
${view.actions ?? waysOn(view)}
<p class="muted small">Reference for support: <code>${view.reference ?? view.code}</code></p>`,
  });
}

