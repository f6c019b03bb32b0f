import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomToken } from '../kernel/ids.ts';
import { formToken, formTokenValid } from '../kernel/form-tokens.ts';
import { AccountSessions } from '../oauth/account-session.ts';
import type { Services } from '../services.ts';
import { ACCOUNT_PATH, accountSignInPage, sharedDataPage } from '../ui/pages/account.ts';
import { flowCookie } from '../ui/flow-cookie.ts';
import { signInRefusal } from './sign-in-refusal.ts';

const signInBody = {
  type: 'object',
  properties: { csrf: { type: 'string', maxLength: 128 }, username: { type: 'string', maxLength: 320 }, password: { type: 'string', maxLength: 1024 } },
};

type SignIn = FastifyRequest<{ Body: { csrf?: string; username?: string; password?: string } }>;

/** How long a sign-in form may stay open. */
const SIGN_IN_FORM_TTL = 3600;

/**
 * The person's own pages: what idflow handed over about them, to whom and when (every
 * consent record, whatever the door). They are behind idflow's own sign-in session, so
 * only the person sees them: no operator's token reads what was shared with another.
 */
export function registerAccountRoutes(app: FastifyInstance, services: Services): void {
  const sessions = new AccountSessions(services.oauth);
  // Nobody is signed in yet, so the sign-in form is bound to the browser by a cookie of
  // its own: another site cannot sign a visitor in to an account of its choosing.
  const formCookie = flowCookie({ name: 'idflow_account', pathOf: () => ACCOUNT_PATH, issuer: services.config.issuer });
  const csrfOf = (secret: string) => formToken(services.formKey, `account-sign-in:${secret}`);

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);

  /** The sign-in form, bound to this browser (a new binding when it has none). */
  const signInPage = (request: FastifyRequest, reply: FastifyReply, status: number, input: { username?: string; error?: string } = {}) => {
    let secret = formCookie.read(request);
    if (!secret) {
      secret = randomToken();
      formCookie.keep(reply, 'sign-in', secret, SIGN_IN_FORM_TTL);
    }
    return html(reply, status, accountSignInPage({ ...input, csrf: csrfOf(secret) }));
  };

  app.get(ACCOUNT_PATH, { schema: { hide: true } }, async (request, reply) => {
    const userId = await sessions.accountOf(request.raw, reply.raw);
    if (!userId) return signInPage(request, reply, 200);
    return html(reply, 200, sharedDataPage(await services.consents.ofPerson(userId)));
  });

  app.post(`${ACCOUNT_PATH}/sign-in`, { schema: { hide: true, body: signInBody } }, async (request: SignIn, reply) => {
    const secret = formCookie.read(request);
    if (!secret || !formTokenValid(services.formKey, `account-sign-in:${secret}`, request.body?.csrf)) {
      return signInPage(request, reply, 403, { error: 'This form expired. Sign in again.' });
    }
    const username = String(request.body?.username ?? '');
    const password = String(request.body?.password ?? '');
    const again = (status: number, error: string) => signInPage(request, reply, status, { username, error });
    if (!username || !password) return again(400, 'Enter your email or phone number and your password.');
    try {
      const user = await services.signIn.verify(username, password, request.ip, { via: 'account' });
      await sessions.signIn(request.raw, reply.raw, user.id);
      formCookie.drop(reply, 'sign-in');
      return reply.redirect(ACCOUNT_PATH, 303);
    } catch (error) {
      const refusal = signInRefusal(error);
      if (!refusal) throw error;
      reply.headers(refusal.headers);
      return again(refusal.status, refusal.message);
    }
  });
}
