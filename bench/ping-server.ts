import Fastify from 'fastify';

/**
 * The ceiling: a bare Fastify route on the same machine, same Node, same load generator.
 * What idflow's endpoints reach is read against this (the c/e and d/e ratios).
 */
const app = Fastify({ logger: false });
app.get(
  '/ping',
  { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } } } },
  async () => ({ ok: true }),
);
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
