import { AppError } from '../../kernel/errors.ts';
import type { SmsSender } from './sender.ts';

/** IDFLOW_SMS_SENDER=none: the server runs, and any attempt to text someone says SMS is off. */
export class DisabledSmsSender implements SmsSender {
  async send(): Promise<void> {
    throw new AppError('unavailable', 'Sending SMS is not configured on this server', { detail: 'IDFLOW_SMS_SENDER=none' });
  }
}
