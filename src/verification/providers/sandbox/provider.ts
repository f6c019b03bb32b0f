import type { StartInput, StartResult, VerificationProvider } from '../../types.ts';

/**
 * The built-in sandbox: the person goes through idflow's own hosted pages (liveness,
 * document, face match) under /verification/sandbox/{id}/…, where documented test inputs
 * drive every outcome (docs/verification.md). The document checks are the real ones.
 */
export class SandboxProvider implements VerificationProvider {
  readonly name = 'sandbox';

  async start(input: StartInput): Promise<StartResult> {
    return { kind: 'hosted', path: sandboxPath(input.verificationId), providerRef: input.verificationId };
  }
}

export function sandboxPath(verificationId: string, step?: 'liveness' | 'document' | 'face-match' | 'cancel'): string {
  return `/verification/sandbox/${verificationId}${step ? `/${step}` : ''}`;
}
