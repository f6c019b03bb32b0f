/**
 * Headers of every answer that carries tokens (RFC 6749 §5.1): no cache, shared or private,
 * may keep it; `Pragma` for HTTP/1.0 caches.
 */
export const TOKEN_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
};
