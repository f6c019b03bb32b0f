import { parseArgs } from 'node:util';
import { loadConfig, ConfigError, type Config } from '../config/index.ts';
import { openStorage } from '../bootstrap.ts';
import { Keyring } from '../kernel/sealing.ts';
import { createLogger } from '../kernel/logger.ts';
import { migrate } from '../storage/migrate.ts';
import { DEFAULT_ACTIVATION_DELAY_SECONDS, rotateSigningKey } from '../oauth/signing-keys.ts';
import { ID_TOKEN_TTL } from '../oauth/engine.ts';
import { startServer } from '../server.ts';
import { purgeExpired } from '../maintenance.ts';
import { describeFailure, EXIT, type Failure } from './failure.ts';
import { withPlatform } from './platform.ts';

const USAGE = `idflow — identity platform

Usage:
  idflow start [--import FILE]          start the server (IDFLOW_IMPORT works too)
  idflow migrate                         bring the database schema up to date
  idflow keys rotate [--delay SECONDS | --now]
                                         publish a new token-signing key; it signs after
                                         the delay (default 600 s), or at once with --now
  idflow keys sealing-key                print a new key for IDFLOW_SEALING_KEYS
  idflow client create --name NAME [--client-id ID] [--redirect-uri URI ...]
                       [--post-logout-redirect-uri URI ...] [--grant-types a,b,c]
                       [--scope "s1 s2"] [--public] [--access-token-ttl SECONDS]
                       [--token-endpoint-auth-method client_secret_basic|client_secret_post|private_key_jwt|none]
                       [--jwks FILE | --jwks-uri URL] [--introspect] [--verification-step] [--json]
  idflow client create … --integration hosted|semi_hosted|non_hosted [--environment sandbox|production]
                       [--default-redirect-url URL] [--api-key]      a 1-Click brand (and its first API key)
  idflow client create … --web-kyc [--web-kyc-provider sandbox|veriff]   enable Web KYC (needs a secret and a redirect URI)
  idflow client create … [--title T] [--display-name N] [--send-sms] [--birth-date-format iso|unix_ms]
                       [--default-credential-requests JSON]          more 1-Click brand settings
  idflow client update CLIENT_ID [any create option but --client-id and --api-key]
                       [--no-public] [--no-introspect] [--no-verification-step] [--no-send-sms] [--no-web-kyc]
                       [--unset redirect-uri|post-logout-redirect-uri|access-token-ttl|default-redirect-url|
                                display-name|default-credential-requests|one-click|web-kyc ...]
                                         change a client; what is not named is kept (keys too)
  idflow client list [--json]
  idflow client delete CLIENT_ID
  idflow client api-key create|list CLIENT_ID | revoke CLIENT_ID KEY_ID   1-Click API keys
  idflow user create (--email E | --phone P) [--email E] [--phone P] [--password W] [--json]
  idflow consents list (--user USER_ID|EMAIL|PHONE | --client CLIENT_ID) [--json]
                                         every hand-over of personal data to an operator, newest
                                         first: when, door, client, person, what (field names)
  idflow audit verify [--checkpoint FILE] [--key FILE] [--json]
                                         check every chain of the audit log (and that a kept
                                         checkpoint is genuine and still held); exit 4 if not
  idflow audit checkpoint                sign the heads of the audit log now, publish them as
                                         an event and print them
  idflow audit key                       print the public key checkpoints are signed with
  idflow audit list [--stream S] [--client ID] [--user ID] [--action A] [--since T] [--until T]
                    [--limit N] [--cursor C]   audit entries, newest first
  idflow webhook subscribe CLIENT_ID --url URL --events TYPE[,TYPE…]|* [--description D]
                           [--secret whsec_…] [--json]        a client's endpoint; its secret is shown once
  idflow webhook list [CLIENT_ID] [--json]
  idflow webhook update SUBSCRIPTION_ID [--url URL] [--events …] [--description D]
  idflow webhook rotate-secret SUBSCRIPTION_ID [--secret whsec_…] [--overlap SECONDS] [--json]
                                         a new secret; the old one signs too for the overlap (default 86400)
  idflow webhook enable|disable|delete SUBSCRIPTION_ID
  idflow webhook deliveries [--subscription ID] [--client ID] [--state pending|delivered|failed]
                            [--before DELIVERY_ID] [--limit N] [--json]      newest first
  idflow webhook attempts DELIVERY_ID [--json]   a delivery and every attempt of it
  idflow webhook redeliver DELIVERY_ID           send it again, with the same webhook-id
  idflow webhook recover SUBSCRIPTION_ID --since TIME   send again what failed since TIME (ISO 8601)
  idflow webhook events                  the event types one can subscribe to
  idflow purge                           expire stale verifications; delete expired tokens, codes,
                                         sessions and flows, and Web KYC data that is due

Configuration comes from environment variables; see the README.`;

/**
 * Runs one command; returns the exit status (see `EXIT`). Expected failures are told in one
 * line without a stack trace: on stderr for commands, as one log line for `start` (whose
 * output is its log), after everything it opened is closed again.
 */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return fail(describeFailure(error));
    throw error;
  }
  // Commands print their results on stdout; logs go to stderr so output stays parseable.
  const logger = createLogger(command === 'start' ? config.logLevel : 'warn', command === 'start' ? undefined : process.stderr);
  try {
    switch (command) {
      case 'start': {
        const { values } = parseArgs({ args: rest, options: { import: { type: 'string' } } });
        await startServer(config, logger, { importPath: values.import, stopWithParent: env.npm_lifecycle_event !== undefined });
        return EXIT.ok;
      }
      case 'migrate': {
        // Straight to storage: opening the platform migrates first, which would leave this
        // command nothing to apply and nothing true to report.
        const db = await openStorage(config, logger);
        try {
          const applied = await migrate(db);
          process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'the schema is up to date\n');
        } finally {
          await db.close();
        }
        return EXIT.ok;
      }
      case 'keys':
        return await keys(rest, config, logger);
      case 'client':
        return await (await import('./client-commands.ts')).clientCommand(rest, (fn) => withPlatform(config, logger, fn));
      case 'user':
        return await (await import('./user-commands.ts')).userCommand(rest, (fn) => withPlatform(config, logger, fn));
      case 'consents':
        return await (await import('./consent-commands.ts')).consentCommand(rest, (fn) => withPlatform(config, logger, fn));
      case 'audit':
        return await (await import('./audit-commands.ts')).auditCommand(rest, (fn) => withPlatform(config, logger, fn));
      case 'webhook':
        return await (await import('./webhook-commands.ts')).webhookCommand(rest, (fn) => withPlatform(config, logger, fn));
      case 'purge':
        return await withPlatform(config, logger, async (s) => {
          const report = await purgeExpired(s);
          process.stdout.write(
            `expired ${report.verificationsExpired} verifications; deleted ${report.webKycHandOvers} finished Web KYC hand-overs ` +
              `(details, images and rows), ${report.flows} expired flows, ${report.oneClickHolds} 1-Click holds, ${report.oauthRows} expired tokens, codes and sessions and ${report.limitCounters} limit counters; ` +
              `deleted the images of ${report.verificationImagesDeleted} verifications past their retention\n`,
          );
        });
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        process.stderr.write(`idflow: unknown command "${command}"\n\n${USAGE}\n`);
        return EXIT.usage;
    }
  } catch (error) {
    const failure = describeFailure(error);
    if (command !== 'start') return fail(failure);
    logger.fatal(failure.expected ? { exitStatus: failure.status } : { exitStatus: failure.status, err: error }, `idflow could not start: ${failure.message}`);
    return failure.status;
  }
}

/** Tells a failed command's reason on stderr; returns its exit status. */
function fail(failure: Failure): number {
  process.stderr.write(`idflow: ${failure.message}\n`);
  for (const line of failure.details) process.stderr.write(`  ${line}\n`);
  if (failure.usage) process.stderr.write(`\n${USAGE}\n`);
  return failure.status;
}

async function keys(args: string[], config: Config, logger: ReturnType<typeof createLogger>): Promise<number> {
  if (args[0] === 'sealing-key') {
    process.stdout.write(`${Keyring.generateText()}\n`);
    return 0;
  }
  if (args[0] !== 'rotate') {
    process.stderr.write('idflow: usage: idflow keys rotate [--delay SECONDS | --now] | idflow keys sealing-key\n');
    return 2;
  }
  const { values } = parseArgs({ args: args.slice(1), options: { delay: { type: 'string' }, now: { type: 'boolean' } } });
  const delay = values.now ? 0 : values.delay === undefined ? DEFAULT_ACTIVATION_DELAY_SECONDS : Number(values.delay);
  if (!Number.isInteger(delay) || delay < 0 || delay > 7 * 86400) {
    process.stderr.write('idflow: --delay takes whole seconds from 0 to 604800\n');
    return 2;
  }
  return withPlatform(config, logger, async (s) => {
    // The old key stays published while anything it signed may still be checked.
    const keep = ID_TOKEN_TTL + 300;
    const { kid, retired, activatesAt } = await rotateSigningKey(s.db, s.keyring, s.clock, { keepPublishedSeconds: keep, activationDelaySeconds: delay });
    process.stdout.write(
      `new signing key ${kid} is published and signs from ${activatesAt.toISOString()}; ` +
        `${retired} previous key(s) sign until then and stay published ${keep} s longer\n`,
    );
  });
}
