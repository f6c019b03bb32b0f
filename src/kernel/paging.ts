import { AppError } from './errors.ts';

/**
 * Cursor paging of listings that run newest first by a numeric id (events, deliveries, the
 * audit log): a page is at most `limit` rows older than the cursor, and the cursor of the
 * next page is the last id shown, opaque to callers.
 */
export const PAGE_LIMIT = { default: 50, max: 500 } as const;

export interface Paging {
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Give it back as `cursor` for the next (older) page; absent on the last page. */
  nextCursor: string | undefined;
}

/** One page: `fetch` is asked for one row more than the limit, so the last page is known as such. */
export async function pageOf<T extends { id: number }>(paging: Paging, fetch: (beforeId: number | undefined, limit: number) => Promise<T[]>): Promise<Page<T>> {
  const limit = paging.limit ?? PAGE_LIMIT.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMIT.max) {
    throw new AppError('validation_failed', undefined, { fields: [{ field: '/limit', message: `must be a whole number from 1 to ${PAGE_LIMIT.max}` }] });
  }
  const items = await fetch(paging.cursor === undefined ? undefined : idOfCursor(paging.cursor), limit + 1);
  const more = items.length > limit;
  if (more) items.pop();
  return { items, nextCursor: more ? Buffer.from(String(items.at(-1)!.id)).toString('base64url') : undefined };
}

function idOfCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new AppError('validation_failed', undefined, { fields: [{ field: '/cursor', message: 'is not a cursor this listing gave' }] });
  return Number(text);
}
