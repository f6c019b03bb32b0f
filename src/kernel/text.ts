import { AppError } from './errors.ts';

/**
 * Text that no part of the platform can keep: NUL (PostgreSQL's text and jsonb refuse it)
 * and UTF-16 surrogates without their pair (they cannot be encoded as UTF-8 or as JSON
 * PostgreSQL accepts). Each surface refuses such input once, at its edge, with this check,
 * so none of it reaches the core or storage.
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\0') && text.isWellFormed();
}

/** Where a value sits in a request part, as a chain back to the root (paths are built only when shown). */
interface Place {
  key: string;
  parent: Place | undefined;
}

function pathOf(place: Place | undefined): string {
  const keys: string[] = [];
  for (let at = place; at; at = at.parent) keys.push(at.key);
  return keys.length ? `/${keys.reverse().join('/')}` : '/';
}

/**
 * The JSON-pointer-ish path of the first string (value or key) in `value` that is not
 * storable text, or undefined when all are. Buffers and other binary bodies are not text.
 * Walked with a list rather than recursion: a body may nest as deep as its size allows.
 */
export function unstorableTextAt(value: unknown): string | undefined {
  const pending: [unknown, Place | undefined][] = [[value, undefined]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, place] = next;
    if (typeof item === 'string') {
      if (!isStorableText(item)) return pathOf(place);
      continue;
    }
    if (item === null || typeof item !== 'object' || ArrayBuffer.isView(item)) continue;
    for (const [key, child] of Object.entries(item).reverse()) {
      // The path is shown to the caller: a key that is not storable is shown repaired.
      if (!isStorableText(key)) return pathOf({ key: key.toWellFormed().replaceAll('\0', '\ufffd'), parent: place });
      pending.push([child, { key, parent: place }]);
    }
  }
  return undefined;
}

/** Refuses a request part (query, body…) holding text that cannot be stored, naming where. */
export function assertStorableText(value: unknown): void {
  const at = unstorableTextAt(value);
  if (at === undefined) return;
  throw new AppError('validation_failed', 'The request holds a NUL character or an unpaired UTF-16 surrogate', {
    fields: [{ field: at, message: 'must not contain NUL characters or unpaired surrogates' }],
  });
}
