/**
 * Headers every HTML page carries. Pages need no script; `script-src 'self'` (not 'none')
 * lets the OAuth engine add the hash of the one inline script it writes for form_post
 * responses, as it does when it finds a script-src directive.
 */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
