import type { NewConsent } from '../consent/consents.ts';
import { walletCredentialIds, type Draft } from './draft.ts';
import type { OneClickEntity } from './entity.ts';

/**
 * The consent a 1-Click share records: the wallet credentials it discloses and the fields
 * the 1ClickEntity hands the operator (its identifiers and credentials, by name).
 */
export function shareConsent(draft: Draft, entity: OneClickEntity, share: { clientId: string; flowId: string }): NewConsent {
  return {
    door: 'one_click',
    userId: draft.userId,
    clientId: share.clientId,
    shared: [...Object.keys(entity.identifiers), ...Object.keys(entity.credentials)],
    credentialIds: walletCredentialIds(draft),
    flowId: share.flowId,
  };
}
