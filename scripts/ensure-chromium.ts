// Runs before `npm test`: the browser tests drive Debian's Chromium, never a downloaded one.
// Installs the `chromium` package with apt-get when it is missing (as root, or through sudo).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.IDFLOW_CHROMIUM ?? '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
  const asRoot = process.getuid?.() === 0;
  const run = (args: string[]) =>
    asRoot ? execFileSync(args[0]!, args.slice(1), { stdio: 'inherit' }) : execFileSync('sudo', ['-n', ...args], { stdio: 'inherit' });
  process.stdout.write(`Chromium is not at ${CHROMIUM}; installing Debian's chromium package…\n`);
  try {
    run(['apt-get', 'update', '-qq']);
    run(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', 'chromium']);
  } catch {
    process.stderr.write('Could not install chromium. Install it yourself (apt-get install chromium) or set IDFLOW_CHROMIUM to its path.\n');
    process.exit(1);
  }
}
