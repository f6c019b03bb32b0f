import { parseArgs } from 'node:util';
import type { ConsentRecord } from '../consent/consents.ts';
import { AppError } from '../kernel/errors.ts';
import { EXIT } from './failure.ts';
import type { WithPlatform } from './platform.ts';

const USAGE = 'idflow: usage: idflow consents list (--user USER_ID|EMAIL|PHONE | --client CLIENT_ID) [--user …] [--client …] [--json]\n';

/** `idflow consents list`: what was handed over to whom, for one person, one client, or both. */
export async function consentCommand(args: string[], withPlatform: WithPlatform): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list') {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  const { values } = parseArgs({ args: rest, options: { user: { type: 'string' }, client: { type: 'string' }, json: { type: 'boolean' } } });
  if (values.user === undefined && values.client === undefined) {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  return withPlatform(async (s) => {
    let userId: string | undefined;
    if (values.user !== undefined) {
      const user = await s.users.find(values.user);
      if (!user) throw new AppError('not_found', `No user is named ${values.user}`);
      userId = user.id;
    }
    const consents = await s.consents.list({ userId, clientId: values.client });
    if (values.json) process.stdout.write(`${JSON.stringify(consents.map(toJson))}\n`);
    else for (const c of consents) process.stdout.write(`${line(c)}\n`);
  });
}

function toJson(c: ConsentRecord) {
  return {
    id: c.id,
    created_at: c.createdAt.toISOString(),
    door: c.door,
    client_id: c.clientId,
    client_name: c.clientName,
    user_id: c.userId ?? null,
    shared: c.shared,
    credential_ids: c.credentialIds,
    flow_id: c.flowId ?? null,
    verification_id: c.verificationId ?? null,
  };
}

/** One hand-over a line: when, door, client, person (`-` for none), what, and the flow or verification. */
function line(c: ConsentRecord): string {
  const from = [c.flowId && `flow:${c.flowId}`, c.verificationId && `verification:${c.verificationId}`].filter(Boolean).join(' ');
  return [c.createdAt.toISOString(), c.door, c.clientId, c.userId ?? '-', c.shared.join(','), from || '-'].join('\t');
}
