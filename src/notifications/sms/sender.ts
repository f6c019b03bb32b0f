/**
 * What the rest of the platform sees of SMS: one message in, sent or an AppError out.
 * Which provider carries it, and the limits that guard it, are chosen once in ./index.ts.
 */
export interface SmsMessage {
  /** E.164. */
  to: string;
  text: string;
  /** The client on whose behalf the message goes out; per-client limits count against it. */
  clientId: string;
  purpose: 'verification_code';
}

export interface SmsSender {
  /** Throws AppError('too_many_requests', …, {retryAfter}) when a limit is hit. */
  send(message: SmsMessage): Promise<void>;
}
