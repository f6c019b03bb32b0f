import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAUTH_ROUTES } from '../oauth/engine.ts';
import type { Metrics } from '../telemetry/metrics.ts';

/** The OAuth engine's endpoints by their first path segment (`token`, `authorize`…): all mounted under one route. */
const OAUTH_ENDPOINTS: ReadonlySet<string> = new Set(Object.values(OAUTH_ROUTES).map((path) => path.split('/')[2]!));

/**
 * Serves `/metrics` and times every request into `idflow_http_request_duration_seconds`.
 * Request metrics are taken from the raw response's `finish`, so the OAuth endpoints
 * (answered by the engine directly) are counted like every other route. The metrics
 * themselves are declared in src/telemetry/metrics.ts.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', async (request, reply) => {
    const started = process.hrtime.bigint();
    reply.raw.once('finish', () => {
      metrics.requestDuration.labels(request.method, routeOf(request), String(reply.raw.statusCode)).observe(Number(process.hrtime.bigint() - started) / 1e9);
    });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

/**
 * The route label: the matched route's template, except under `/oauth/*`, which is labelled
 * by the engine's endpoint (`/oauth/token`; `/oauth/authorize/*` for what follows it, such
 * as a resumed authorization), or stays `/oauth/*` for a path that is none of them. Never a
 * raw path: the label values stay a small fixed set.
 */
export function routeOf(request: FastifyRequest): string {
  const route = request.routeOptions.url ?? 'unmatched';
  if (route !== '/oauth/*') return route;
  const segments = request.url.split('?')[0]!.split('/');
  const endpoint = segments[2];
  if (endpoint === undefined || !OAUTH_ENDPOINTS.has(endpoint)) return route;
  return segments.length > 3 && segments.slice(3).some((s) => s !== '') ? `/oauth/${endpoint}/*` : `/oauth/${endpoint}`;
}
