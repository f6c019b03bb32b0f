import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';

/**
 * The ceiling: bare Fastify routes on the same machine, same Node, same load generator.
 * What idflow's endpoints reach is read against these.
 *
 * - `GET /ping` → `{"ok":true}`: any small JSON endpoint (the c/e and d/e ratios).
 * - `POST /pair/token` → `{"token":"…"}` and `GET /pair/details` → a JSON body of
 *   `PAIR_BODY_BYTES` bytes, built once: Web KYC's hand-over with no work behind it, so
 *   the cost of moving a details body of that size is measured on its own.
 */
const app = Fastify({ logger: false });
app.get(
  '/ping',
  { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } } } },
  async () => ({ ok: true }),
);

const bodyBytes = Number(process.env.PAIR_BODY_BYTES ?? 0);
if (bodyBytes > 0) {
  const head = '{"croppedDocs":{"front":"';
  const tail = '","back":null},"details":{}}';
  const filler = randomBytes(Math.ceil(bodyBytes * 0.75)).toString('base64').slice(0, Math.max(0, bodyBytes - head.length - tail.length));
  const details = Buffer.from(`${head}${filler}${tail}`);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  app.post('/pair/token', async (_request, reply) => reply.header('cache-control', 'no-store').send({ token: randomBytes(32).toString('base64url') }));
  app.get('/pair/details', async (_request, reply) => reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(details));
}

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
