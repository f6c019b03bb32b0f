import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';
import { adminAuthentication } from './authenticate.ts';
import { registerDeliveryRoutes } from './delivery-routes.ts';
import { registerLogRoutes } from './log-routes.ts';
import { registerSubscriptionRoutes } from './subscription-routes.ts';

export const ADMIN_PREFIX = '/admin';

/**
 * The admin API (/admin/*), the start of the operator's console: every route behind one
 * door (a client-credentials token with the admin scope, authenticate.ts), its input checked
 * by its schema, its work done by one call to a core service; errors are problem+json.
 */
export async function registerAdminApi(app: FastifyInstance, services: Services): Promise<void> {
  await app.register(
    async (scope) => {
      scope.addHook('onRequest', adminAuthentication(services.oauth));
      registerSubscriptionRoutes(scope, services.webhooks);
      registerDeliveryRoutes(scope, services.webhooks);
      registerLogRoutes(scope, { events: services.events, audit: services.audit });
    },
    { prefix: ADMIN_PREFIX },
  );
}
