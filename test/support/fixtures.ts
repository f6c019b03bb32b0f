import type { TestPlatform } from './platform.ts';

export const PASSWORD = 'correct horse battery staple';

/** A first-party public client with the password grant, as a Vault integration has. */
export async function passwordClient(platform: TestPlatform, overrides: { scope?: string; accessTokenTtl?: number; clientId?: string } = {}) {
  const { client } = await platform.services.clients.save({
    clientId: overrides.clientId ?? 'vault-app',
    name: 'Vault App',
    grantTypes: ['password', 'refresh_token'],
    scope: overrides.scope ?? 'accounts:read accounts:create user_mfa:read',
    public: true,
    accessTokenTtl: overrides.accessTokenTtl,
  });
  await platform.services.oauth.reloadIfChanged();
  return client;
}

export async function user(platform: TestPlatform, email = 'ada@example.com', password = PASSWORD) {
  return platform.services.users.create({ email, password });
}
