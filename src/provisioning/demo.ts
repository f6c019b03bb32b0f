import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomToken } from '../kernel/ids.ts';
import type { Services } from '../services.ts';

export interface DemoCredentials {
  issuer: string;
  web: { client_id: string; client_secret: string; redirect_uri: string };
  mobile: { client_id: string };
  user: { email: string; password: string };
}

/**
 * On the very first start of an empty embedded database, a confidential web client, a
 * public first-party mobile client and a test user, so the README tour works at once.
 * The secrets are random, printed once and kept in the data folder (readable by this user
 * only); nothing here runs against PostgreSQL or in production.
 */
export async function seedDemo(services: Services): Promise<DemoCredentials | undefined> {
  const { config } = services;
  if (config.databaseUrl || config.env !== 'development') return undefined;
  if ((await services.clients.list()).length > 0 || (await services.repos.users.count()) > 0) return undefined;

  const redirectUri = 'http://localhost:8080/callback';
  const web = await services.clients.save({
    clientId: 'demo-web',
    name: 'Demo Web App',
    redirectUris: [redirectUri],
    postLogoutRedirectUris: ['http://localhost:8080/'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    scope: 'openid email phone offline_access accounts:read',
    // The demo web app also plays the API that checks tokens (README tour, step 4).
    introspect: true,
  });
  await services.clients.save({
    clientId: 'demo-mobile',
    name: 'Demo Mobile App',
    redirectUris: ['com.example.demo:/callback'],
    grantTypes: ['password', 'refresh_token', 'authorization_code'],
    scope: 'openid email offline_access accounts:read accounts:create',
    public: true,
  });
  const password = `demo-${randomToken(9)}`;
  await services.users.create({ email: 'demo@example.com', password });
  await services.oauth.reloadIfChanged();

  const credentials: DemoCredentials = {
    issuer: config.issuer,
    web: { client_id: 'demo-web', client_secret: web.secret!, redirect_uri: redirectUri },
    mobile: { client_id: 'demo-mobile' },
    user: { email: 'demo@example.com', password },
  };
  await writeFile(join(config.dataDir, 'demo-credentials.json'), `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return credentials;
}
