// The receiver bench/notifications.ts delivers to, in a process of its own as an operator's
// endpoint would be: every POST is verified as the operator's code verifies it, with the
// `standardwebhooks` library (`docs/notifications.md`, "Signatures"), and answered 204 when
// the signature holds, 400 when not. It counts messages by `webhook-id` (a retry of one
// already seen is a duplicate), and remembers when the first attempt of each API key's
// event arrived, for the commit-to-first-attempt latency. GET /stats and GET /arrivals tell
// the bench. Environment: PORT, WEBHOOK_SECRET (`whsec_…`).
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(process.env.WEBHOOK_SECRET!);
const seen = new Set<string>();
/** key_id of a client.changed message → when its first attempt arrived (Unix ms, sub-ms precision). */
const arrivals = new Map<string, number>();
let verified = 0;
let duplicates = 0;
let rejected = 0;

const server = createServer((request, response) => {
  if (request.method === 'GET') {
    const body = request.url === '/arrivals' ? Object.fromEntries(arrivals) : { verified, duplicates, rejected };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return;
  }
  const arrived = performance.timeOrigin + performance.now();
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    let message: { data?: { key_id?: string } };
    try {
      message = webhook.verify(raw, request.headers as Record<string, string>) as typeof message;
    } catch {
      rejected++;
      response.writeHead(400).end();
      return;
    }
    const id = request.headers['webhook-id'] as string;
    if (seen.has(id)) duplicates++;
    else {
      seen.add(id);
      verified++;
      const keyId = message.data?.key_id;
      if (keyId && !arrivals.has(keyId)) arrivals.set(keyId, arrived);
    }
    response.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
