// Runs after `npm install` / `npm ci`: prepares the empty embedded-database snapshot that
// makes the first start of idflow fast. A failure here only makes that first start slower.
import { buildEmbeddedTemplate } from '../src/storage/embedded-template.ts';

try {
  await buildEmbeddedTemplate();
} catch (error) {
  process.stderr.write(`idflow: could not prepare the embedded database snapshot (${(error as Error).message}); the first start will take longer\n`);
}
