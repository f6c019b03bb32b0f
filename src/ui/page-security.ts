/**
 * Headers of every HTML page. Pages need no script; `script-src 'self'` (not 'none') lets
 * the OAuth engine add the hash of the one inline script it writes for form_post responses,
 * as it does when it finds a script-src directive.
 *
 * `form-action` names where a page's forms may go. Browsers apply it to every redirect that
 * follows a form submission too, so a page whose form ends up at a client (the OAuth
 * redirect_uri after login or consent, a 1-Click brand's redirectUrl, a verification vendor)
 * must name that destination as well: `pageSecurityHeaders(destinations)` does, and a page
 * that names none may send forms to idflow only.
 */
const policy = (formAction: string) =>
  `default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;

export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': policy("'self'"),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The page headers for a page whose forms lead, through redirects, to `destinations` as well as to idflow. */
export function pageSecurityHeaders(destinations: ReadonlyArray<string | undefined>): Record<string, string> {
  return { ...HTML_SECURITY_HEADERS, 'content-security-policy': withFormDestinations(HTML_SECURITY_HEADERS['content-security-policy']!, destinations) };
}

/** `csp` with `destinations` added to its form-action directive (as the OAuth engine adds script hashes to script-src). */
export function withFormDestinations(csp: string, destinations: ReadonlyArray<string | undefined>): string {
  const sources = [...new Set(destinations.map(formSource).filter((s) => s !== undefined))];
  if (!sources.length) return csp;
  return csp
    .split(';')
    .map((directive) => (directive.trim().startsWith('form-action ') ? `${directive} ${sources.join(' ')}` : directive))
    .join(';');
}

/**
 * The CSP source that admits a URL already checked elsewhere (a registered redirect URI):
 * its origin for http(s), its scheme for a native app's private-use scheme (RFC 8252 §7.1).
 */
function formSource(url: string | undefined): string | undefined {
  const parsed = url === undefined ? null : URL.parse(url);
  if (!parsed) return undefined;
  if (parsed.protocol === 'https:' || parsed.protocol === 'http:') return parsed.origin;
  return /^[a-z][a-z0-9+.-]*:$/.test(parsed.protocol) ? parsed.protocol : undefined;
}
