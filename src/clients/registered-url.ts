/**
 * Whether a URL a caller names is one the client registered. The rule is exact match after
 * normalisation: both sides are parsed as WHATWG URLs and their serialisations compared, so
 * `HTTPS://Shop.Example:443/cb` is `https://shop.example/cb`, and nothing else is. The query
 * string is part of the match, as for OAuth redirect URIs (RFC 9700 §2.1): a registered page
 * that forwards on a parameter (`?next=`) must not become a way to send people elsewhere.
 * A URL with a user name or password (`https://trusted.example@evil.example`) never matches.
 */
export function registeredMatch(value: string, registered: readonly string[]): string | undefined {
  const wanted = normalizedUrl(value);
  if (wanted === undefined) return undefined;
  return registered.map(normalizedUrl).find((r) => r === wanted);
}

/** The URL's serialisation, or undefined when it is not an absolute URL or carries credentials. */
export function normalizedUrl(value: string): string | undefined {
  const url = URL.parse(value);
  if (!url || url.username || url.password) return undefined;
  return url.href;
}

/**
 * Whether a URL lies on one of the origins (scheme, host and port, compared exactly) of the
 * client's registered URLs: for links that lead back to the client's site, such as a "Back
 * to …" link, where any page of that site will do but no other site may borrow the page.
 */
export function onRegisteredOrigin(value: string, registered: readonly string[]): boolean {
  const origin = URL.parse(value)?.origin;
  return origin !== undefined && registered.some((r) => URL.parse(r)?.origin === origin);
}
