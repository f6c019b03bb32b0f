import { html, type Html } from './html.ts';
import { page } from './layout.ts';
import type { PageLink } from './error-page.ts';

/** Seconds between two looks of a waiting page at a result. */
export const WAIT_REFRESH_SECONDS = 2;
/**
 * How long a waiting page keeps looking by itself. A result usually comes in seconds; past
 * this the page stops reloading (a tab left open must not poll for ever) and offers to look
 * again by hand.
 */
export const WAIT_LIMIT_SECONDS = 120;

export interface WaitingView {
  /** Small line above the title (who asks for the verification). */
  context: string;
  /** The same page again: looks at the result now. */
  checkHref: string;
  /** Since when the result has been awaited, and now: the page stops reloading after WAIT_LIMIT_SECONDS. */
  since: Date;
  now: Date;
  /** The way out: back to the client's site, and/or a form that stops waiting. */
  back?: PageLink | undefined;
  leave?: Html | undefined;
}

/** Whether a waiting page shown now still reloads itself. */
export function stillRefreshing(view: Pick<WaitingView, 'since' | 'now'>): boolean {
  return view.now.getTime() - view.since.getTime() < WAIT_LIMIT_SECONDS * 1000;
}

/**
 * The one waiting page (a verification's result, Web KYC's hand-back): it reloads itself
 * every WAIT_REFRESH_SECONDS (no script needed) for WAIT_LIMIT_SECONDS, then says it is
 * taking long and offers to check again; a way out is always on it.
 */
export function waitingPage(view: WaitingView): string {
  const refreshing = stillRefreshing(view);
  const back = view.back
    ? html`<p><a class="back" href="${view.back.href}" rel="noreferrer">${view.back.text}</a></p>`
    : view.leave
      ? ''
      : html`<p class="muted small">You can close this page; the result reaches the site or app that sent you here either way.</p>`;
  return page({
    title: refreshing ? 'Checking your document…' : 'This is taking longer than usual',
    context: view.context,
    refreshSeconds: refreshing ? WAIT_REFRESH_SECONDS : undefined,
    body: refreshing
      ? html`<p role="status" aria-live="polite">We are checking your document and your photos. This usually takes a few seconds; this page looks again by itself.</p>
<p><a class="button secondary" href="${view.checkHref}">Check now</a></p>
${view.leave ?? ''}${back}`
      : html`<p role="status">We are still checking your document and your photos. The result has not come in yet; this page has stopped looking by itself.</p>
<p><a class="button" href="${view.checkHref}">Check again</a></p>
${view.leave ?? ''}${back}`,
  });
}
