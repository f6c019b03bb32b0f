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

/**
 * Headers of every answer that carries tokens (RFC 6749 §5.1): no cache, shared or private,
 * may keep it; `Pragma` for HTTP/1.0 caches.
 */
export const TOKEN_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
};
