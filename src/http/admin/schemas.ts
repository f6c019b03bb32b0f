import { AppError } from '../../kernel/errors.ts';
import type { Paging } from '../../kernel/paging.ts';
import { ADMIN_SCOPE } from '../../oauth/scopes.ts';
import { PROBLEM } from '../problem.ts';

/**
 * What every admin route shares in its schema: the tag, the security requirement
 * (/openapi.json's `securitySchemes`, see ADMIN_SECURITY_SCHEMES), the problem answers, and
 * the query parameters of paged listings. Query strings are not coerced, so numbers and
 * times are patterns here and read by `pagingOf` and `timeOf`.
 */
export const ADMIN_TAG = 'admin';

/** The two ways to present the token: as OAuth 2.0 (client credentials) or as a plain bearer token. */
export const ADMIN_SECURITY_SCHEMES = (tokenUrl: string) => ({
  adminOAuth: {
    type: 'oauth2',
    description: 'An access token from the client credentials grant, for a client registered with the admin scope',
    flows: { clientCredentials: { tokenUrl, scopes: { [ADMIN_SCOPE]: 'Manage webhook subscriptions and deliveries; read events and the audit log' } } },
  },
  adminBearer: { type: 'http', scheme: 'bearer', description: `The same access token, sent as \`Authorization: Bearer …\` (it must carry ${ADMIN_SCOPE})` },
});

const ERRORS = Object.fromEntries(
  [400, 401, 403, 404, 409].map((status) => [status, { description: 'RFC 9457 problem', content: { 'application/problem+json': { schema: PROBLEM } } }]),
);

/** The schema of an admin route: `spec` plus what every one of them declares. */
export function adminRoute(spec: { summary: string; params?: object; querystring?: object; body?: object; response?: Record<string, object> }): { schema: object } {
  return {
    schema: {
      tags: [ADMIN_TAG],
      security: [{ adminOAuth: [ADMIN_SCOPE] }, { adminBearer: [] }],
      ...spec,
      response: { ...ERRORS, ...spec.response },
    },
  };
}

export const text = (maxLength: number, extra: object = {}) => ({ type: 'string', minLength: 1, maxLength, ...extra });
const dateTime = { type: 'string', format: 'date-time', maxLength: 40 };

export const idParams = (pattern: string) => ({ type: 'object', properties: { id: text(100, { pattern }) }, required: ['id'], additionalProperties: false });
export const SUBSCRIPTION_ID = '^[A-Za-z0-9_-]{1,100}$';
export const DELIVERY_ID = '^[1-9][0-9]{0,14}$';

/** Listing parameters: a page of `limit` (1–500, 50 by default), after `cursor`; `since` (inclusive) and `until` (exclusive). */
export const PAGING = { limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' }, cursor: text(64, { pattern: '^[A-Za-z0-9_-]+$' }) };
export const PERIOD = { since: dateTime, until: dateTime };

export const query = (properties: object) => ({ type: 'object', properties, additionalProperties: false });

export function pagingOf(q: { limit?: string | undefined; cursor?: string | undefined }): Paging {
  return { limit: q.limit === undefined ? undefined : Number(q.limit), cursor: q.cursor };
}

/** A time of the query (its format checked by the schema; the calendar here: no 30 February). */
export function timeOf(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new AppError('validation_failed', undefined, { fields: [{ field: `/${name}`, message: 'must be an RFC 3339 date and time' }] });
  return at;
}

/** A listing's answer: the items under their name, and the cursor of the next page (null on the last). */
export function listed<T>(name: string, page: { items: T[]; nextCursor: string | undefined }): Record<string, unknown> {
  return { [name]: page.items, next_cursor: page.nextCursor ?? null };
}
