import { isLoopbackUrl } from '../kernel/urls.ts';

/**
 * The one redirect policy: every URL idflow sends a person to (an OAuth `redirect_uri`, a
 * post-logout URI, a 1-Click `redirectUrl`, Web KYC's `redirect_uri` and `back_url`) is
 * checked here, when a client registers it and again when a request names it. The doors only
 * say how they answer a refusal, in their own shape.
 */
export interface RedirectRules {
  /** Development: plain http to this machine is a destination too; never in production. */
  allowInsecureLoopback: boolean;
}

/** Where a request may send the person (`url`: always the registered URL), or why it may not. */
export type RedirectCheck = { ok: true; url: string } | { ok: false; refused: 'not_registered' | 'not_secure' };

export interface RequestRules extends RedirectRules {
  /** The door ends in a browser page only: a native app's private-use scheme is no destination. */
  webOnly?: boolean | undefined;
  /** A native app's loopback redirect may name any port (RFC 8252 §7.3). */
  anyLoopbackPort?: boolean | undefined;
}

const WEB = new Set(['https:', 'http:']);
// RFC 8252 §7.1: a private-use scheme is the app's reverse domain name (com.example.app:/cb).
const APP_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/;

// ── Registering ──────────────────────────────────────────────────────────────────────────

/** Why `uri` is not a web address a client may register (https, or loopback http while developing), or undefined. */
export function webUrlProblem(uri: string, rules: RedirectRules): string | undefined {
  const url = URL.parse(uri);
  if (!url || uri.includes('#') || url.username || url.password) return 'must be an absolute URL without credentials or fragment';
  if (url.protocol === 'https:') return undefined;
  const loopback = isLoopbackUrl(url);
  if (url.protocol === 'http:' && loopback && rules.allowInsecureLoopback) return undefined;
  return loopback && url.protocol === 'http:' ? 'http://localhost is allowed only in development' : 'must use https';
}

/** Why `uri` is not a redirect URI a client may register: a web address, or a native app's private-use scheme. */
export function redirectUriProblem(uri: string, rules: RedirectRules): string | undefined {
  const url = URL.parse(uri);
  if (!url) return 'must be an absolute URI';
  if (uri.includes('#')) return 'must not have a fragment';
  if (WEB.has(url.protocol)) return webUrlProblem(uri, rules);
  if (!APP_SCHEME.test(url.protocol)) return 'must be https, loopback http, or a reverse-DNS app scheme';
  return undefined;
}

// ── Sending a person ─────────────────────────────────────────────────────────────────────

/**
 * The registered URL a request names. The match is exact, query string included, as for
 * OAuth redirect URIs (RFC 9700 §2.1): a registered page that forwards on a parameter
 * (`?next=`) must not become a way to send people elsewhere. The only freedom is in how the
 * scheme and host are written (case, a default port, a host in Unicode or punycode, an empty
 * path); 1-Click and Web KYC then send the person to the URL as registered, the OAuth engine
 * to the URL as the client wrote it, which is the same address to any parser: a URL that some
 * parser could read differently never matches (see `plainlyWritten`), nor does one with a
 * user name or password or a fragment (RFC 6749 §3.1.2). The registered URL must still be a
 * destination under today's rules: https, loopback http while developing, or (unless
 * `webOnly`) the private-use scheme of a native app.
 */
export function registeredRedirect(value: string, registered: readonly string[], rules: RequestRules): RedirectCheck {
  const match = registered.find((r) => r === value) ?? sameUrl(value, registered, rules);
  if (match === undefined) return { ok: false, refused: 'not_registered' };
  return isDestination(match, rules) ? { ok: true, url: match } : { ok: false, refused: 'not_secure' };
}

/**
 * A link back to the client's site (Web KYC's `back_url`): any page on one of the origins
 * (scheme, host and port, compared exactly) of the client's registered URLs, where any page
 * of that site will do but no other site may borrow the link. It must be a web destination
 * written plainly; the link is the URL as given.
 */
export function registeredSite(value: string, registered: readonly string[], rules: RedirectRules): RedirectCheck {
  const url = plainlyWritten(value);
  if (!url || webUrlProblem(value, rules) !== undefined) return { ok: false, refused: 'not_secure' };
  return registered.some((r) => URL.parse(r)?.origin === url.origin) ? { ok: true, url: value } : { ok: false, refused: 'not_registered' };
}

/**
 * The URL, when it reads the same to every parser: the WHATWG parser (which browsers follow)
 * drops tabs and newlines, turns backslashes into slashes, resolves `..` and `%2e%2e` and
 * decodes a percent-escaped host, where a client's own code, a proxy or an app may not. So a
 * web URL must be written as the parser writes it from the host on; only the scheme and host
 * may differ in case, default port or IDN form. Userinfo and fragments are refused outright.
 */
function plainlyWritten(value: string): URL | undefined {
  if (/[\x00-\x20\x7f#\\]/.test(value)) return undefined;
  const url = URL.parse(value);
  if (!url || url.username || url.password || !WEB.has(url.protocol)) return undefined;
  const written = /^https?:\/\/([^/?]*)(.*)$/i.exec(value);
  if (!written || /[%@]/.test(written[1]!)) return undefined;
  const tail = written[2]!.startsWith('/') ? written[2]! : `/${written[2]!}`;
  return tail === url.pathname + url.search ? url : undefined;
}

/** The registered URL that `value`, written plainly, is another spelling of. */
function sameUrl(value: string, registered: readonly string[], rules: RequestRules): string | undefined {
  const url = plainlyWritten(value);
  const wanted = url ? comparable(url, rules) : undefined;
  return wanted === undefined ? undefined : registered.find((r) => comparable(URL.parse(r), rules) === wanted);
}

/** The URL's serialisation for comparing; a native app's loopback redirect without its port. */
function comparable(url: URL | null, rules: RequestRules): string | undefined {
  if (!url || url.username || url.password || url.hash) return undefined;
  if (rules.anyLoopbackPort && url.protocol === 'http:' && isLoopbackUrl(url)) {
    const portless = new URL(url.href);
    portless.port = '';
    return portless.href;
  }
  return url.href;
}

/** Whether a registered URL may still be sent to (the rules can be stricter than when it was registered). */
function isDestination(uri: string, rules: RequestRules): boolean {
  const url = URL.parse(uri);
  if (!url) return false;
  if (WEB.has(url.protocol)) return webUrlProblem(uri, rules) === undefined;
  return !rules.webOnly && redirectUriProblem(uri, rules) === undefined;
}
