import { WebKyc, type WebKycDeps } from './web-kyc.ts';

/**
 * What Web KYC takes from the wired platform (src/services.ts), named here so the core does
 * not import the wiring above it.
 */
export interface WebKycPlatform extends Pick<WebKycDeps, 'db' | 'sealer' | 'verification' | 'clock' | 'logger' | 'formKey' | 'consents' | 'security'> {
  repos: { clients: WebKycDeps['clients'] };
  config: { env: 'development' | 'production' };
}

const instances = new WeakMap<WebKycPlatform, WebKyc>();

/**
 * The Web KYC core of a wired platform, made once per platform: it subscribes to the
 * verification engine's settlements, which must happen exactly once.
 */
export function webKycOf(services: WebKycPlatform): WebKyc {
  let webKyc = instances.get(services);
  if (!webKyc) {
    webKyc = new WebKyc({
      db: services.db,
      sealer: services.sealer,
      clients: services.repos.clients,
      verification: services.verification,
      clock: services.clock,
      formKey: services.formKey,
      logger: services.logger,
      allowInsecureLoopback: services.config.env === 'development',
      consents: services.consents,
      security: services.security,
    });
    instances.set(services, webKyc);
  }
  return webKyc;
}

/** Deletes the Web KYC details, images and rows that are due; for the server's periodic purge and `idflow purge`. */
export function purgeWebKyc(services: WebKycPlatform, now?: Date): Promise<number> {
  return webKycOf(services).purge(now);
}
