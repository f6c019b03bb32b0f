/** A URL on this machine's loopback interface (RFC 8252 §7.3), by name or address. */
export function isLoopbackUrl(url: string | URL): boolean {
  const parsed = typeof url === 'string' ? URL.parse(url) : url;
  return parsed !== null && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
}
