import { generateKeyPairSync } from 'node:crypto';
import Fastify from 'fastify';
import Provider from 'oidc-provider';

/**
 * The second ceiling: oidc-provider 9 by itself, on its development in-memory adapter (no
 * database, no account lookup, no logging), mounted in Fastify as idflow mounts it, with
 * the same grant settings: ES256, refresh tokens rotated, client credentials. What the
 * library costs before any storage; idflow's refresh and client-credentials figures are read
 * against it (c/f, d/g). Only a benchmark runs this; idflow never uses an in-memory adapter.
 *
 * `POST /bench/refresh-token` mints a refresh token (scope `openid offline_access`) for a new
 * account, so each load-generator chain can start (or restart) without a sign-in step.
 */
const port = Number(process.env.PORT);
const secret = process.env.BENCH_CLIENT_SECRET ?? 'bench-secret-bench-secret-bench-secret';
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...(privateKey.export({ format: 'jwk' }) as Record<string, string>), kid: 'bench', alg: 'ES256', use: 'sig' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    { client_id: 'bench-mobile', token_endpoint_auth_method: 'none', grant_types: ['refresh_token', 'authorization_code'], redirect_uris: ['https://bench.example.com/callback'], response_types: ['code'], id_token_signed_response_alg: 'ES256' },
    { client_id: 'bench-service', client_secret: secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'api:read', id_token_signed_response_alg: 'ES256' },
  ],
  jwks: { keys: [jwk] },
  features: { clientCredentials: { enabled: true }, introspection: { enabled: true }, revocation: { enabled: true }, devInteractions: { enabled: false } },
  scopes: ['openid', 'offline_access', 'email', 'api:read'],
  rotateRefreshToken: true,
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  issueRefreshToken: async () => true,
  ttl: { Grant: 86_400, AccessToken: 86_400, RefreshToken: 30 * 86_400, ClientCredentials: 86_400, IdToken: 3600 },
  routes: { token: '/oauth/token' },
});

const app = Fastify({ logger: false });
const callback = provider.callback();
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, _payload, done) => done(null));
app.all('/oauth/*', (request, reply) => {
  reply.hijack();
  callback(request.raw, reply.raw);
});
app.get('/ping', async () => ({ ok: true }));
let accounts = 0;
app.post('/bench/refresh-token', async () => {
  const accountId = `bench-${++accounts}`;
  const client = await provider.Client.find('bench-mobile');
  const grant = new provider.Grant({ accountId, clientId: 'bench-mobile' });
  grant.addOIDCScope('openid offline_access');
  const grantId = await grant.save();
  const token = new provider.RefreshToken({ accountId, client: client!, grantId, scope: 'openid offline_access', gty: 'authorization_code', authTime: Math.floor(Date.now() / 1000) } as ConstructorParameters<typeof provider.RefreshToken>[0]);
  return { refresh_token: await token.save() };
});
await app.listen({ port, host: '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
