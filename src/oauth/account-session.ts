import type { IncomingMessage, ServerResponse } from 'node:http';
import { SESSION_COOKIE, SESSION_TTL, type OAuthEngine } from './engine.ts';

/**
 * idflow's own pages for a signed-in person (their account) use the engine's sign-in
 * session, the one every client's sign-in shares: a person signed in to an application is
 * signed in here, and signing in here signs them in for the applications too.
 */
export class AccountSessions {
  readonly #engine: OAuthEngine;

  constructor(engine: OAuthEngine) {
    this.#engine = engine;
  }

  /** The account this browser's session is signed in to, if any. */
  async accountOf(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
    const provider = this.#engine.provider;
    const session = await provider.Session.get(provider.createContext(req, res));
    return session.accountId || undefined;
  }

  /**
   * Signs this browser in to `accountId` (whose password was just checked). The session
   * gets a new id, so one planted before cannot be ridden; a session of another person
   * on this browser ends, with it their sign-in for every application.
   */
  async signIn(req: IncomingMessage, res: ServerResponse, accountId: string): Promise<void> {
    const provider = this.#engine.provider;
    const ctx = provider.createContext(req, res);
    let session = await provider.Session.get(ctx);
    if (session.accountId && session.accountId !== accountId) {
      await session.destroy();
      session = new provider.Session();
    }
    session.loginAccount({ accountId, amr: ['pwd'] });
    // oidc-provider marks a session it did not read from a cookie as `new` (its types omit it).
    if (!(session as { new?: boolean }).new) session.resetIdentifier();
    await session.save(SESSION_TTL);
    ctx.cookies.set(provider.cookieName('session'), session.jti, { ...SESSION_COOKIE, expires: new Date(session.exp! * 1000) });
  }
}
