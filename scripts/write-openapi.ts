import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openApiFileText } from '../api/openapi';

/** Rewrites api/openapi.json from the zod schemas (run after changing a schema; a test checks the file). */
const file = path.resolve(__dirname, '../api/openapi.json');
writeFileSync(file, openApiFileText());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
