import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The cookie that carries a flow's browser secret (`FlowEngine.bindBrowser`, `start` with
 * `bindBrowser`) for the hosted pages of every kind of flow. Its path is the flow's own
 * pages, so two flows open in one browser never share it; HttpOnly, SameSite=Lax (the pages
 * are reached by top-level navigation from the operator's site), Secure when the issuer is
 * https. Read and written through @fastify/cookie (registered once, in `buildApp`).
 */
export interface FlowCookie {
  /** The secret this browser presents for the flow, if any. */
  read(request: FastifyRequest): string | undefined;
  keep(reply: FastifyReply, flowId: string, secret: string, maxAgeSeconds: number): void;
  /** The flow is over for this browser: the secret has nothing left to open. */
  drop(reply: FastifyReply, flowId: string): void;
}

export function flowCookie(options: { name: string; pathOf: (flowId: string) => string; issuer: string }): FlowCookie {
  const { name, pathOf } = options;
  const secure = options.issuer.startsWith('https://');
  const attributes = (flowId: string, maxAge: number) => ({ path: pathOf(flowId), maxAge, httpOnly: true, sameSite: 'lax' as const, ...(secure ? { secure: true } : {}) });
  return {
    read: (request) => request.cookies[name] || undefined,
    keep: (reply, flowId, secret, maxAgeSeconds) => void reply.setCookie(name, secret, attributes(flowId, maxAgeSeconds)),
    drop: (reply, flowId) => void reply.setCookie(name, '', attributes(flowId, 0)),
  };
}
