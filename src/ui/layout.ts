import { html, trusted, type Html } from './html.ts';
import { STYLES } from './styles.ts';

export interface PageOptions {
  title: string;
  /** Small line above the title: who is asking (the operator's application). */
  context?: string | undefined;
  body: Html;
  lang?: string;
  /** Seconds after which the page loads itself again (a waiting page; no script needed). */
  refreshSeconds?: number | undefined;
}

/**
 * The one look of every hosted page (login, consent, logout, errors, 1-Click wallet,
 * verification steps): a centred card that fits a phone, system fonts, visible focus,
 * labels on every field. No script is needed for any page to work.
 */
export function page(options: PageOptions): string {
  return html`<!doctype html>
<html lang="${options.lang ?? 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title}</title>
${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">\n` : ''}<style>${trusted(STYLES)}</style>
</head>
<body>
<main class="card" aria-labelledby="page-title">
${options.context ? html`<p class="context">${options.context}</p>` : ''}
<h1 id="page-title">${options.title}</h1>
${options.body}
</main>
<footer class="footer">Secured by idflow</footer>
</body>
</html>`.value;
}

/** An alert announced to screen readers; used for errors on forms. */
export function alert(message: string | undefined): Html | string {
  return message ? html`<div class="alert" role="alert" id="form-error">${message}</div>` : '';
}
