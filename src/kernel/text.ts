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

const MAX_DEPTH = 32;

/**
 * The JSON-pointer-ish path of the first string (value or key) in `value` that is not
 * storable text, or undefined when all are. Buffers and other binary bodies are not text.
 */
export function unstorableTextAt(value: unknown, path = ''): string | undefined {
  return find(value, path, 0);
}

function find(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path || '/';
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH || ArrayBuffer.isView(value)) return undefined;
  for (const [key, item] of Object.entries(value)) {
    // The path is shown to the caller: a key that is not storable is shown repaired.
    if (!isStorableText(key)) return `${path}/${key.toWellFormed().replaceAll('\0', '\ufffd')}`;
    const at = `${path}/${key}`;
    const found = find(item, at, depth + 1);
    if (found) return found;
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
