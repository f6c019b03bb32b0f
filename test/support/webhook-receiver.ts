import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';

/**
 * An operator's webhook endpoint on loopback, verifying every message as real receivers do:
 * with the `standardwebhooks` and `svix` libraries and the secret it was given. A message
 * whose signature does not verify is answered 401, as a receiver should.
 */
export interface ReceivedMessage {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, any> };
  /** Whether both libraries accepted the signature. */
  verified: boolean;
  /** Whether the answer went out (a sender that died while waiting never gets one). */
  answered: boolean;
}

/** An answer instead of the normal one: a status (with headers), a hang (no answer), or a delay before answering 204. */
export type Answer = number | { status: number; headers?: Record<string, string>; body?: string } | 'hang' | { delayMs: number };

export interface WebhookReceiver {
  url: string;
  port: number;
  /** Every message that arrived, verified or not. */
  received: ReceivedMessage[];
  /** Messages accepted (verified and answered 2xx). */
  accepted: ReceivedMessage[];
  /** The secrets it verifies with; either may sign (rotation). */
  secrets: string[];
  /** Answers for the next messages, in order; then it accepts again. */
  script(...answers: Answer[]): void;
  /** Every message gets this answer until changed (undefined: normal). */
  always(answer: Answer | undefined): void;
  /** Stops listening (the endpoint is down); `start` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `secrets` empty: it does not check signatures (tests that move a manual clock hours ahead
 * sign with timestamps the libraries would call stale; signatures are tested on real time).
 */
export async function startWebhookReceiver(secrets: string[] = [], port = 0): Promise<WebhookReceiver> {
  const scripted: Answer[] = [];
  let standing: Answer | undefined;
  const receiver: WebhookReceiver = {
    url: '',
    port,
    received: [],
    accepted: [],
    secrets,
    script: (...answers) => void scripted.push(...answers),
    always: (answer) => void (standing = answer),
    stop: () => close(server),
    start: () => listen(server, receiver.port),
    close: () => close(server),
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
    const verified = receiver.secrets.length === 0 || receiver.secrets.some((secret) => verifies(() => new StandardWebhook(secret).verify(body, headers)) && verifies(() => new SvixWebhook(secret).verify(body, headers)));
    let json: ReceivedMessage['json'];
    try {
      json = JSON.parse(body);
    } catch {
      json = { type: '', timestamp: '', data: {} };
    }
    const message: ReceivedMessage = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body, json, verified, answered: false };
    receiver.received.push(message);
    res.on('finish', () => void (message.answered = true));
    const answer = scripted.shift() ?? standing;
    if (answer === 'hang') return;
    if (typeof answer === 'object' && 'delayMs' in answer) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (!verified) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('invalid signature');
    if (typeof answer === 'number') return void res.writeHead(answer, { 'content-type': 'text/plain' }).end(`scripted ${answer}`);
    if (typeof answer === 'object' && 'status' in answer) return void res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
    // Accepted once the answer is out: a message whose sender died meanwhile was not.
    res.on('finish', () => void receiver.accepted.push(message));
    res.writeHead(204).end();
  });
  await listen(server, port);
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks`;
  return receiver;
}

function verifies(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
