import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { DestinationPolicy } from './destinations.ts';

/** What one attempt came to; `status` is absent when no answer came, and `error` says why. */
export interface AttemptOutcome {
  status: number | undefined;
  durationMs: number;
  /** The first bytes of the answer's body, as text. */
  responseHead: string | undefined;
  error: 'timeout' | 'destination_refused' | 'unresolvable' | 'connection_failed' | undefined;
  retryAfter: string | undefined;
}

export interface SendOptions {
  policy: DestinationPolicy;
  timeoutMs: number;
}

/** Bytes of an answer kept with the attempt. */
export const RESPONSE_HEAD_BYTES = 1024;
/** An answer is read no further than this: a receiver cannot make a worker download a film. */
const RESPONSE_CAP_BYTES = 64 * 1024;

class DestinationRefused extends Error {}

/**
 * POSTs one signed message. Redirects are not followed (a 3xx is a failure, and following it
 * would skip the destination check); the whole exchange is bounded by `timeoutMs`.
 */
export function postMessage(url: URL, headers: Record<string, string>, body: string, options: SendOptions): Promise<AttemptOutcome> {
  const started = performance.now();
  const outcome = (o: Partial<AttemptOutcome>): AttemptOutcome => ({
    status: undefined,
    responseHead: undefined,
    error: undefined,
    retryAfter: undefined,
    ...o,
    durationMs: Math.round(performance.now() - started),
  });
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !options.policy.allows(literal)) return Promise.resolve(outcome({ error: 'destination_refused' }));

  return new Promise((resolve) => {
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'idflow-webhooks/1' },
      lookup: guardedLookup(options.policy),
      agent: false,
    });
    let settled = false;
    const finish = (o: Partial<AttemptOutcome>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(outcome(o));
    };
    const timer = setTimeout(() => finish({ error: 'timeout' }), options.timeoutMs);
    request.on('socket', (socket) => {
      // Belt and braces: the address actually connected to passes the same check.
      socket.once('connect', () => {
        if (socket.remoteAddress && !options.policy.allows(socket.remoteAddress)) finish({ error: 'destination_refused' });
      });
    });
    request.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      finish({ error: error instanceof DestinationRefused ? 'destination_refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'unresolvable' : 'connection_failed' });
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        finish({
          status: response.statusCode,
          responseHead: Buffer.concat(chunks).subarray(0, RESPONSE_HEAD_BYTES).toString('utf8').replace(/\uFFFD+$/, ''),
          retryAfter: response.headers['retry-after'],
        });
      response.on('data', (chunk: Buffer) => {
        if (size < RESPONSE_HEAD_BYTES) chunks.push(chunk);
        size += chunk.length;
        if (size > RESPONSE_CAP_BYTES) done();
      });
      response.on('end', done);
      response.on('error', done);
    });
    request.end(body);
  });
}

/** Resolves a name and hands the connection only addresses the policy allows. */
function guardedLookup(policy: DestinationPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const allowed = addresses.filter((a) => policy.allows(a.address));
      if (allowed.length === 0) return callback(new DestinationRefused('destination refused') as NodeJS.ErrnoException, '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
