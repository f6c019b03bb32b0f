// Process entry for `npm start`: the same as `idflow start`.
import { run } from './cli/main.ts';

process.exitCode = await run(['start', ...process.argv.slice(2)]);
