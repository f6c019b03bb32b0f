import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '../kernel/errors.ts';
import type { Services } from '../services.ts';
import { Interactions, type InteractionView } from '../oauth/interactions.ts';
import { pageSecurityHeaders } from '../ui/page-security.ts';
import { errorPage } from '../ui/error-page.ts';
import { consentPage, loginPage } from '../ui/pages/oauth.ts';
import { handOffPage, verificationFailedPage, verificationStepPage } from '../ui/pages/verification.ts';
import { formToken, formTokenValid } from '../kernel/form-tokens.ts';
import { signInRefusal } from './sign-in-refusal.ts';

type WithUid = FastifyRequest<{ Params: { uid: string }; Body: Record<string, unknown> }>;

const uidParams = { type: 'object', properties: { uid: { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' } }, required: ['uid'] };
const formBody = {
  type: 'object',
  properties: { csrf: { type: 'string', maxLength: 128 }, username: { type: 'string', maxLength: 320 }, password: { type: 'string', maxLength: 1024 } },
};

/**
 * The hosted login, verification and consent pages of the authorization code flow. Every
 * form carries a token bound to its interaction; the interaction itself is bound to the
 * browser by the engine's signed cookie (whose path covers every page below it).
 */
export function registerInteractionRoutes(app: FastifyInstance, services: Services): void {
  const interactions = new Interactions(services.oauth, services.consents);
  const csrf = (uid: string) => formToken(services.formKey, `interaction:${uid}`);

  /** A page; `view` when its forms lead, through the engine, on to the client's redirect_uri. */
  const html = (reply: FastifyReply, status: number, body: string, view?: InteractionView) =>
    reply
      .code(status)
      .headers(pageSecurityHeaders([view?.redirectUri]))
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(body);

  const expired = (reply: FastifyReply) =>
    html(
      reply,
      400,
      errorPage({ code: 'flow_expired', title: 'This sign-in has expired', message: 'It stayed open too long, so it was closed for your security. Start again from the site or app that sent you here.' }),
    );

  app.get('/interaction/:uid', { schema: { hide: true, params: uidParams } }, async (request: WithUid, reply) => {
    const view = await interactions.view(request.raw, reply.raw);
    if (!view || view.uid !== request.params.uid) return expired(reply);
    if (view.prompt === 'login') {
      return html(reply, 200, loginPage({ uid: view.uid, clientName: view.clientName, csrf: csrf(view.uid), username: view.loginHint }), view);
    }
    if (view.prompt === 'verification') return html(reply, 200, verificationStepPage({ uid: view.uid, clientName: view.clientName, csrf: csrf(view.uid) }), view);
    return html(reply, 200, consentPage({ uid: view.uid, clientName: view.clientName, csrf: csrf(view.uid), scopes: view.scopes, claims: view.claims }), view);
  });

  app.post('/interaction/:uid/login', { schema: { hide: true, params: uidParams, body: formBody } }, async (request: WithUid, reply) => {
    const view = await interactions.view(request.raw, reply.raw);
    if (!view || view.uid !== request.params.uid || view.prompt !== 'login') return expired(reply);
    if (!formTokenValid(services.formKey, `interaction:${view.uid}`, request.body?.csrf)) return expired(reply);
    const username = String(request.body?.username ?? '');
    const password = String(request.body?.password ?? '');
    const again = (status: number, error: string) =>
      html(reply, status, loginPage({ uid: view.uid, clientName: view.clientName, csrf: csrf(view.uid), username, error }), view);
    if (!username || !password) return again(400, 'Enter your email or phone number and your password.');
    try {
      const user = await services.signIn.verify(username, password, request.ip, { via: 'login_page', clientId: view.clientId });
      return reply.redirect(await interactions.finishLogin(request.raw, reply.raw, user.id), 303);
    } catch (error) {
      const refusal = signInRefusal(error);
      if (!refusal) throw error;
      reply.headers(refusal.headers);
      return again(refusal.status, refusal.message);
    }
  });

  // The verification step: the person's verification is started for their account, runs on
  // the provider's pages and comes back here; its result lands in their wallet.
  app.post('/interaction/:uid/verify', { schema: { hide: true, params: uidParams, body: formBody } }, async (request: WithUid, reply) => {
    const view = await interactions.view(request.raw, reply.raw);
    if (!view || view.uid !== request.params.uid || view.prompt !== 'verification' || !view.accountId) return expired(reply);
    if (!formTokenValid(services.formKey, `interaction:${view.uid}`, request.body?.csrf)) return expired(reply);
    const engine = services.verification;
    let started;
    try {
      started = await engine.start({
        provider: engine.defaultProvider ?? '',
        clientId: view.clientId,
        userId: view.accountId,
        returnTo: `/interaction/${view.uid}/verification`,
        ip: request.ip,
      });
    } catch (error) {
      if (isAppError(error) && error.code === 'too_many_requests') {
        reply.header('retry-after', String(error.retryAfter));
        return html(reply, 429, errorPage({ code: 'too_many_requests', title: 'Too many verifications', message: 'Too many verifications were started. Wait a few minutes and try again.' }, 429), view);
      }
      throw error;
    }
    await interactions.verificationStarted(request.raw, reply.raw, started.verification.id);
    // A vendor's pages are elsewhere: handed over by a page; the sandbox's are here.
    if (/^https?:\/\//.test(started.next)) return html(reply, 200, handOffPage(started.next));
    return reply.redirect(started.next, 303);
  });

  app.get('/interaction/:uid/verification', { schema: { hide: true, params: uidParams } }, async (request: WithUid, reply) => {
    const view = await interactions.view(request.raw, reply.raw);
    if (!view || view.uid !== request.params.uid || view.prompt !== 'verification' || !view.verificationId) return expired(reply);
    const verification = await services.verification.refresh(view.verificationId);
    if (!verification || verification.userId !== view.accountId) return expired(reply);
    if (verification.state === 'created' || verification.state === 'in_progress') return reply.redirect(`/verification/${verification.id}/return`, 303);
    if (verification.state === 'verified') return reply.redirect(await interactions.verificationSettled(request.raw, reply.raw, verification.id), 303);
    return html(reply, 200, verificationFailedPage({ uid: view.uid, clientName: view.clientName, csrf: csrf(view.uid), reasons: verification.reasons }), view);
  });

  app.post('/interaction/:uid/consent', { schema: { hide: true, params: uidParams, body: formBody } }, async (request: WithUid, reply) => {
    const view = await interactions.view(request.raw, reply.raw);
    if (!view || view.uid !== request.params.uid || view.prompt !== 'consent') return expired(reply);
    if (!formTokenValid(services.formKey, `interaction:${view.uid}`, request.body?.csrf)) return expired(reply);
    return reply.redirect(await interactions.grantConsent(request.raw, reply.raw), 303);
  });

  app.post('/interaction/:uid/abort', { schema: { hide: true, params: uidParams, body: formBody } }, async (request: WithUid, reply) => {
    const view = await interactions.view(request.raw, reply.raw);
    if (!view || view.uid !== request.params.uid) return expired(reply);
    if (!formTokenValid(services.formKey, `interaction:${view.uid}`, request.body?.csrf)) return expired(reply);
    return reply.redirect(await interactions.deny(request.raw, reply.raw), 303);
  });
}
