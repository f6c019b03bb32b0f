#!/usr/bin/env node
// The idflow command. idflow runs its TypeScript directly, which needs Node.js 24 or newer;
// inside the project, npm scripts and npx provide it (the `node` devDependency).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`idflow needs Node.js 24 or newer (this is ${process.version}); run it through npx idflow or npm run idflow.\n`);
  process.exit(2);
}
const { run } = await import('../src/cli/main.ts');
process.exitCode = await run(process.argv.slice(2));
