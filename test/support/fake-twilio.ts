import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * A local stand-in for Twilio's Messages API (POST /2010-04-01/Accounts/{AccountSid}/Messages.json),
 * answering as Twilio documents it: HTTP Basic AccountSid:AuthToken, a form-encoded body,
 * 201 with a Message resource, and errors as {code, message, more_info, status}.
 * Like Twilio's test credentials, +15005550001 is an invalid number (21211).
 */
export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  form: Record<string, string>;
}

/** What the next request gets instead of the normal answer: a status (with a Twilio error body), a hang, or a dropped connection. */
export type Scripted = number | 'hang' | 'reset';

export interface FakeTwilio {
  url: string;
  accountSid: string;
  authToken: string;
  messagingServiceSid: string;
  requests: RecordedRequest[];
  /** Queue answers for the next requests, in order; after them the fake behaves normally again. */
  script(...answers: Scripted[]): void;
  close(): Promise<void>;
}

const MORE_INFO = 'https://www.twilio.com/docs/errors/';
const INVALID_TEST_NUMBER = '+15005550001';

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function twilioError(res: ServerResponse, status: number, code: number, message: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (status === 401) headers['www-authenticate'] = 'Basic realm="Twilio API"';
  if (status === 429) headers['retry-after'] = '30';
  res.writeHead(status, headers).end(JSON.stringify({ code, message, more_info: `${MORE_INFO}${code}`, status }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeTwilio(): Promise<FakeTwilio> {
  const accountSid = `AC${hex(16)}`;
  const authToken = hex(16);
  const messagingServiceSid = `MG${hex(16)}`;
  const requests: RecordedRequest[] = [];
  const scripted: Scripted[] = [];

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    const contentType = req.headers['content-type'];
    const form = contentType?.startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(body)) : {};
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, contentType, form });

    const next = scripted.shift();
    if (next === 'hang') return; // never answers; the client's timeout must end it
    if (next === 'reset') return req.socket.destroy();
    if (typeof next === 'number') {
      if (next === 429) return twilioError(res, 429, 20429, 'Too Many Requests');
      return twilioError(res, next, next >= 500 ? 20500 : 20001, next >= 500 ? 'Internal Server Error' : 'Scripted error');
    }

    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (!match) return twilioError(res, 404, 20404, `The requested resource ${path} was not found`);

    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ');
    const [user, ...rest] = Buffer.from(encoded ?? '', 'base64').toString('utf8').split(':');
    if (scheme !== 'Basic' || user !== accountSid || rest.join(':') !== authToken || decodeURIComponent(match[1]!) !== accountSid) {
      return twilioError(res, 401, 20003, 'Authenticate');
    }
    if (req.method !== 'POST') return twilioError(res, 405, 20004, 'Method not allowed');

    const { To: to, From: from, MessagingServiceSid: service, Body: text } = form;
    if (!to) return twilioError(res, 400, 21604, "A 'To' phone number is required.");
    if (!from && !service) return twilioError(res, 400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.");
    if (!text) return twilioError(res, 400, 21602, 'Message body is required.');
    const parsed = parsePhoneNumberFromString(to);
    if (to === INVALID_TEST_NUMBER || !parsed?.isValid() || parsed.number !== to) {
      return twilioError(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    }

    const sid = `SM${hex(16)}`;
    const now = new Date().toUTCString().replace('GMT', '+0000');
    const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`;
    res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' }).end(
      JSON.stringify({
        account_sid: accountSid,
        api_version: '2010-04-01',
        body: text,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: from ?? null,
        messaging_service_sid: service ?? null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: 'USD',
        sid,
        // With a Messaging Service Twilio first accepts the message, then picks a sender and queues it.
        status: service ? 'accepted' : 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
        to,
        uri,
      }),
    );
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    messagingServiceSid,
    requests,
    script: (...answers) => scripted.push(...answers),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
