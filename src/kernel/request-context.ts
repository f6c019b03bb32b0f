import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request being served, for code far below the HTTP layer that reports on it (a
 * security event's log line names its request id). The HTTP app enters it once per request;
 * outside a request (the CLI, the delivery worker) there is none.
 */
const current = new AsyncLocalStorage<{ requestId: string }>();

export function withRequest<T>(requestId: string, run: () => T): T {
  return current.run({ requestId }, run);
}

export function currentRequestId(): string | undefined {
  return current.getStore()?.requestId;
}
