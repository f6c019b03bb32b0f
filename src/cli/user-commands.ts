import { parseArgs } from 'node:util';
import type { WithPlatform } from './platform.ts';

export async function userCommand(args: string[], withPlatform: WithPlatform): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'create') {
    process.stderr.write('idflow: usage: idflow user create --email E [--phone P] [--password W] [--json]\n');
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { email: { type: 'string' }, phone: { type: 'string' }, password: { type: 'string' }, json: { type: 'boolean' } },
  });
  return withPlatform(async (s) => {
    const user = await s.users.create({ email: values.email, phone: values.phone, password: values.password });
    const out = { user_id: user.id, ...(user.email ? { email: user.email } : {}), ...(user.phone ? { phone: user.phone } : {}) };
    process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `created user ${user.id}\n`);
  });
}
