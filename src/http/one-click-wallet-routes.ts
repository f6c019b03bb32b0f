import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../kernel/errors.ts';
import { isOneClickError, type AdditionalInput, type OneClickReason } from '../one-click/errors.ts';
import { isRealDate } from '../one-click/birth-date.ts';
import type { PersonView } from '../one-click/person-api.ts';
import type { Services } from '../services.ts';
import {
  codePage,
  endPage,
  FIELD_PREFIX,
  inputPage,
  reviewPage,
  tooManyInputsPage,
  unknownRequestPage,
  WALLET_PATH,
  type Brand,
} from '../ui/pages/one-click-wallet.ts';
import { pageSecurityHeaders } from '../ui/page-security.ts';
import { sendErrorPageOf } from './error-page.ts';
import { flowCookie } from '../ui/flow-cookie.ts';
import { toAppError } from '../kernel/to-app-error.ts';

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const params = { type: 'object', properties: { uuid: { type: 'string', pattern: UUID } }, required: ['uuid'], additionalProperties: false };
const csrf = { type: 'string', maxLength: 128 };
const schemas = {
  // `phone` is in the link the operator got; the page shows the core's hint, never this value.
  view: { type: 'object', properties: { phone: { type: 'string', maxLength: 32 }, code: { type: 'string', maxLength: 32 } } },
  code: { type: 'object', properties: { csrf, code: { type: 'string', maxLength: 32 } }, required: ['csrf'], additionalProperties: false },
  input: {
    type: 'object',
    properties: { csrf, birthDate: { type: 'string', maxLength: 32 }, ssn4: { type: 'string', maxLength: 16 } },
    required: ['csrf'],
    additionalProperties: false,
  },
  // Field names are the core's field ids (`fullName.firstName`, `address.1.line1`) behind `f.`.
  share: {
    type: 'object',
    properties: { csrf },
    patternProperties: { '^f\\.[A-Za-z][A-Za-z0-9]{0,60}(\\.[A-Za-z0-9]{1,60}){0,2}$': { type: 'string', maxLength: 200 } },
    required: ['csrf'],
    additionalProperties: false,
    maxProperties: 100,
  },
  decline: { type: 'object', properties: { csrf }, required: ['csrf'], additionalProperties: false },
};

type Req<Body = unknown, Query = unknown> = FastifyRequest<{ Params: { uuid: string }; Body: Body; Querystring: Query }>;

/** Holds the core's `personToken` (the flow's browser secret); its path is one request's pages, so two requests never share it. */
const PERSON_COOKIE = 'idflow_1click';

const END_TEXT: Partial<Record<OneClickReason, { heading: string; message: (brand: string) => string }>> = {
  code_attempts_exceeded: { heading: 'Too many wrong codes', message: (b) => `For your security this request has ended. Return to ${b} to start again and get a new code.` },
  nothing_found: { heading: 'We could not find your information', message: (b) => `Nothing was shared. You can return to ${b} and fill in your details there.` },
  mandatory_credentials_missing: {
    heading: 'Some required information is missing',
    message: (b) => `We could not find everything ${b} needs, so nothing was shared. You can return to ${b} and fill in your details there.`,
  },
};

/**
 * The Hosted 1-Click pages at /1-click/wallet/{uuid} (the `url` POST /1-click returns):
 * GET shows the step the request is at; each step POSTs to its own path and answers with a
 * 303 (Post/Redirect/Get), or with the same page and an error. The request's state lives in
 * the core alone: a form carries only the token the core gave its page (bound to the request
 * and to the browser that entered the code) and what the person typed.
 *
 * Nothing personal is shown before the right code. The right code (typed, or brought by the
 * `?code=` link) gives this browser the core's `personToken`, kept in an HttpOnly cookie
 * scoped to the request's pages; the later steps pass it to the core, which shows the data
 * and acts only for it. Anyone else holding the link (the operator has it) gets a page
 * saying so.
 */
export function registerOneClickWalletRoutes(app: FastifyInstance, services: Services): void {
  const { oneClick, config } = services;
  const here = (uuid: string) => `${WALLET_PATH}/${uuid}`;

  const send = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);

  /** The request as its pages show it. Their forms may end at the operator's redirect URL (share, decline), so the page policy admits it. */
  const viewFor = async (reply: FastifyReply, ...args: Parameters<typeof oneClick.viewForPerson>) => {
    const view = await oneClick.viewForPerson(...args);
    reply.headers(pageSecurityHeaders([view.returnsTo]));
    return view;
  };

  const browser = flowCookie({ name: PERSON_COOKIE, pathOf: here, issuer: config.issuer });
  /** The request is over for this browser: the token has nothing left to open. */
  const leave = (reply: FastifyReply, uuid: string, redirectUrl: string) => {
    browser.drop(reply, uuid);
    return reply.redirect(redirectUrl, 303);
  };

  /**
   * The request as a posted form finds it, or the page saying the form is not this request's
   * page as it is now. A form from another browser goes on to the step checks, which send it
   * to the page of where the request is, or say to continue where the code was entered.
   */
  const formView = async (request: Req<{ csrf: string }>, reply: FastifyReply) => {
    const view = await oneClick.viewForForm(request.params.uuid, { csrf: request.body.csrf, personToken: browser.read(request) });
    reply.headers(pageSecurityHeaders([view.returnsTo]));
    if (view.form === 'stale_form') return { refused: staleForm(reply, view.uuid, view.brand) };
    return { view };
  };

  const elsewhere = (reply: FastifyReply, brand: Brand) =>
    send(reply, 403, endPage({ brand, heading: 'Continue where you entered the code', message: 'For your security, this request goes on only in the browser where the code was entered. Open the link there to continue.' }));

  const staleForm = (reply: FastifyReply, uuid: string, brand: Brand) =>
    send(reply, 403, endPage({ brand, heading: 'This page has expired', message: 'Nothing was changed. Open the page again to go on.', link: { href: here(uuid), text: 'Open the page again' } }));

  /** The page for the step the request is at, or where to send the person. */
  const show = (reply: FastifyReply, view: PersonView) => {
    const base = { uuid: view.uuid, brand: view.brand, csrf: view.formToken };
    switch (view.step) {
      case 'code':
        return send(reply, 200, codePage({ ...base, phoneHint: view.phoneHint }));
      case 'input':
        if (view.locked) return elsewhere(reply, view.brand);
        return send(reply, 200, inputPage({ ...base, needs: view.additionalInputs ?? ['birthDate'] }));
      case 'review':
        if (view.locked) return elsewhere(reply, view.brand);
        return send(reply, 200, reviewPage({ ...base, fields: view.fields ?? [] }));
      case 'shared':
      case 'declined':
        return reply.redirect(view.redirectUrl!, 303);
      case 'expired':
        return send(reply, 200, endPage({ brand: view.brand, heading: 'This request has expired', message: `Nothing was shared. Return to ${view.brand.name} to start again.`, returnUrl: view.redirectUrl }));
      case 'failed': {
        const text = END_TEXT[view.failure ?? 'nothing_found'] ?? { heading: 'This request has ended', message: (b: string) => `Nothing was shared. Return to ${b} to start again.` };
        return send(reply, 200, endPage({ brand: view.brand, heading: text.heading, message: text.message(view.brand.name), returnUrl: view.redirectUrl }));
      }
    }
  };

  /**
   * Checks a code typed on the page or brought by the link (`?code=`); then the person is
   * sent to the page of whatever step the request is at (the next one, or its end).
   */
  const enterCode = async (reply: FastifyReply, uuid: string, raw: string) => {
    const before = await viewFor(reply, uuid);
    if (before.step !== 'code') return reply.redirect(here(uuid), 303);
    const again = (error: string) => send(reply, 400, codePage({ uuid, brand: before.brand, csrf: before.formToken, phoneHint: before.phoneHint, error }));
    const code = raw.replace(/\s+/g, '');
    // A malformed code is refused here and costs no attempt.
    if (!/^\d{6}$/.test(code)) return again('Enter the 6-digit code from the text message.');
    try {
      const view = await oneClick.submitCode(uuid, code);
      if (view.personToken) browser.keep(reply, uuid, view.personToken, config.oneClick.ttlSeconds);
    } catch (error) {
      if (!isOneClickError(error)) throw error;
      if (error.reason === 'invalid_code') {
        const left = error.details.attemptsRemaining;
        return again(`That code is not right.${left !== undefined ? ` ${left === 1 ? '1 attempt' : `${left} attempts`} left.` : ''}`);
      }
      // The birth date the operator sent was wrong too often: the request waits, the person cannot help now.
      if (error.reason === 'input_attempts_exceeded') return send(reply, 429, tooManyInputsPage({ uuid, brand: before.brand, csrf: before.formToken }));
      // Anything else (the last wrong code ended the request, another tab won a race) is what the page shows next.
    }
    return reply.redirect(here(uuid), 303);
  };

  app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      // Personal data and one-time steps: nothing here may be kept by a browser or a proxy.
      reply.header('cache-control', 'no-store');
      return payload;
    });
    scope.setErrorHandler(sendWalletError);

    // Without a uuid this is still the wallet's path, not the API's `/1-click/{uuid}`.
    scope.all(WALLET_PATH, { schema: { hide: true } }, async (_request, reply) => send(reply, 404, unknownRequestPage()));

    scope.get(`${WALLET_PATH}/:uuid`, { schema: { hide: true, params, querystring: schemas.view } }, async (request: Req<unknown, { code?: string }>, reply) => {
      const { uuid } = request.params;
      // The link the brand may text: `{url}&code={code}` goes straight past the code step.
      if (request.query.code) return enterCode(reply, uuid, request.query.code);
      return show(reply, await viewFor(reply, uuid, undefined, browser.read(request)));
    });

    scope.post(`${WALLET_PATH}/:uuid/code`, { schema: { hide: true, params, body: schemas.code } }, async (request: Req<{ csrf: string; code?: string }>, reply) => {
      const { refused } = await formView(request, reply);
      if (refused) return refused;
      return enterCode(reply, request.params.uuid, request.body.code ?? '');
    });

    scope.post(`${WALLET_PATH}/:uuid/input`, { schema: { hide: true, params, body: schemas.input } }, async (request: Req<{ csrf: string; birthDate?: string; ssn4?: string }>, reply) => {
      const { uuid } = request.params;
      const person = browser.read(request);
      const { view, refused } = await formView(request, reply);
      if (refused) return refused;
      if (view.step !== 'input') return reply.redirect(here(uuid), 303);
      if (view.locked) return elsewhere(reply, view.brand);
      const needs = view.additionalInputs ?? ['birthDate'];
      const birthDate = needs.includes('birthDate') ? (request.body.birthDate ?? '').trim() : '';
      const ssn4 = needs.includes('ssn4') ? (request.body.ssn4 ?? '').trim() : '';
      const again = (status: number, error: string, invalid: AdditionalInput[]) =>
        send(reply, status, inputPage({ uuid, brand: view.brand, csrf: view.formToken, needs, birthDate, error, invalid }));
      // Format problems are the page's to explain (and cost no try); whether it matches is the core's.
      if (!birthDate && !ssn4) return again(400, needs.length > 1 ? 'Enter your date of birth or the last 4 digits of your Social Security number.' : needs[0] === 'ssn4' ? 'Enter the last 4 digits of your Social Security number.' : 'Enter your date of birth.', needs);
      if (birthDate && !isRealDate(birthDate)) return again(400, 'Enter your date of birth as YYYY-MM-DD, for example 1990-04-23.', ['birthDate']);
      if (ssn4 && !/^\d{4}$/.test(ssn4)) return again(400, 'Enter exactly 4 digits.', ['ssn4']);
      try {
        await oneClick.provideInput(uuid, { ...(birthDate ? { birthDate } : {}), ...(ssn4 ? { ssn4 } : {}) }, person);
      } catch (error) {
        if (!isOneClickError(error)) throw error;
        if (error.reason === 'input_mismatch') return again(400, 'That does not match our records. Check it and try again.', error.details.mismatched ?? needs);
        if (error.reason === 'input_attempts_exceeded') return send(reply, 429, tooManyInputsPage({ uuid, brand: view.brand, csrf: view.formToken }));
        if (error.reason === 'invalid_input') return again(400, 'Check what you entered and try again.', needs);
        if (error.reason === 'person_token_required') return elsewhere(reply, view.brand);
        // Anything else (another tab moved on, the request ended) is what the page shows next.
      }
      return reply.redirect(here(uuid), 303);
    });

    scope.post(`${WALLET_PATH}/:uuid/share`, { schema: { hide: true, params, body: schemas.share } }, async (request: Req<Record<string, string>>, reply) => {
      const { uuid } = request.params;
      const person = browser.read(request);
      const { view, refused } = await formView(request as Req<{ csrf: string }>, reply);
      if (refused) return refused;
      if (view.step !== 'review') return reply.redirect(here(uuid), 303);
      if (view.locked) return elsewhere(reply, view.brand);
      const edits: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.body)) if (name.startsWith(FIELD_PREFIX)) edits[name.slice(FIELD_PREFIX.length)] = value;
      const fields = view.fields ?? [];
      const again = (error: string, missing?: Set<string>) =>
        send(reply, 400, reviewPage({ uuid, brand: view.brand, csrf: view.formToken, fields, values: edits, missing, error }));
      // Which required field is empty, so the page can point at it; the core checks again.
      const missing = fields.filter((f) => f.editable && f.required && !(edits[f.id] ?? '').trim());
      if (missing.length) return again(`Please fill in: ${[...new Set(missing.map((f) => f.label))].join(', ')}.`, new Set(missing.map((f) => f.id)));
      try {
        const { redirectUrl } = await oneClick.share(uuid, edits, person);
        return leave(reply, uuid, redirectUrl);
      } catch (error) {
        if (!isOneClickError(error)) throw error;
        if (error.reason === 'invalid_input') return again(error.details.explanation ?? 'Check what you entered and try again.');
        if (error.reason === 'person_token_required') return elsewhere(reply, view.brand);
        return reply.redirect(here(uuid), 303);
      }
    });

    scope.post(`${WALLET_PATH}/:uuid/decline`, { schema: { hide: true, params, body: schemas.decline } }, async (request: Req<{ csrf: string }>, reply) => {
      const { uuid } = request.params;
      const person = browser.read(request);
      const { view, refused } = await formView(request, reply);
      if (refused) return refused;
      if (view.step !== 'code' && view.step !== 'input' && view.step !== 'review') return reply.redirect(here(uuid), 303);
      try {
        const { redirectUrl } = await oneClick.decline(uuid, person);
        return leave(reply, uuid, redirectUrl);
      } catch (error) {
        if (isOneClickError(error) && error.reason === 'person_token_required') return elsewhere(reply, view.brand);
        throw error;
      }
    });
  });
}

/** The wallet pages' one error renderer: the hosted error page, named for 1-Click. */
export function sendWalletError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // A uuid that is not one is a link that does not work, as an unknown one is.
  const unknownLink = (error as FastifyError | null)?.validation?.some((v) => v.instancePath === '/uuid');
  const appError = unknownLink ? new AppError('request_not_found') : toAppError(error, request);
  const status = appError.status === 404 ? 404 : appError.status >= 500 ? 500 : appError.status;
  return sendErrorPageOf(reply, appError, { context: '1-Click' }, status);
}
