import { pino, type Logger } from 'pino';

/**
 * JSON logs (pino). Query strings are never logged (they carry codes and tokens), and
 * anything named like a secret is redacted wherever it appears.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'idflow' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.client_secret',
          '*.refresh_token',
          '*.access_token',
          '*.code',
          '*.api_key',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({ method: req.method, path: req.url?.split('?')[0], ip: req.ip }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}
