import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildOpenApiDocumentWithoutDatabase, packageRoot, serializeOpenApiDocument } from '../openapi';

const USAGE = 'usage: node dist/src/cli/openapi.js [output file, default docs/openapi.json]';

/**
 * Writes the OpenAPI document (what /docs-json serves, keys sorted) to docs/openapi.json, or to the
 * file given: `npm run openapi` (builds first), or `node dist/src/cli/openapi.js /tmp/openapi.json`
 * (CI's staleness check). Needs no database and no configuration.
 */
async function main(argv: string[]): Promise<void> {
  if (argv.length > 1 || argv[0]?.startsWith('-')) throw new Error(USAGE);
  const out = resolve(argv[0] ?? join(packageRoot(), 'docs', 'openapi.json'));
  writeFileSync(out, serializeOpenApiDocument(await buildOpenApiDocumentWithoutDatabase()));
  process.stdout.write(`wrote ${relative(process.cwd(), out) || out}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`openapi: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
