import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AppModule } from './app.module';
import { validateEnv } from './config/env.validation';

/** Every @ApiTags value used in src, with what a reader of /docs (or of a generated client) finds under it. */
export const API_TAGS: Record<string, string> = {
  ingest: "The Teddy app's records (ingest key): guardians, children, conversations and their messages; erasure on request",
  admin: 'Who a key belongs to, the audit trail, deletion notices and a family history (viewer key reads, operator key steers)',
  scheduler: 'Jobs, their schedules and their runs: the ledger, manual triggers, backfills and cancellation',
  cleanup: 'Retention cleanup: what the next run would delete, and the reports of past runs',
  health: 'Liveness and readiness probes, for orchestrators and load balancers (no key)',
};

/** The directory of package.json: the repository in development, /app in the image (dist/ sits below it either way). */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The service's version, from package.json (npm_package_version is only set under `npm run`). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/** Throws, naming them, if two operations share an operationId: generated clients need each to be unique. */
export function assertUniqueOperationIds(document: Pick<OpenAPIObject, 'paths'>): void {
  const owners = new Map<string, string[]>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const id = item[method]?.operationId;
      if (id === undefined) continue;
      owners.set(id, [...(owners.get(id) ?? []), `${method.toUpperCase()} ${path}`]);
    }
  }
  const shared = [...owners].filter(([, operations]) => operations.length > 1);
  if (shared.length > 0) {
    const list = shared.map(([id, operations]) => `${id} (${operations.join(', ')})`).join('; ');
    throw new Error(`OpenAPI operationIds must be unique; rename the controller methods: ${list}`);
  }
}

/**
 * The OpenAPI document of the application's routes. The operationId of each operation is the name of
 * its controller method (e.g. createGuardian), which is what generated clients call it, so method
 * names must be unique across controllers: a clash fails here, at every start and in every test.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  let builder = new DocumentBuilder()
    .setTitle('teddy-scheduler')
    .setDescription(
      "Retention and deletion notices for the Teddy platform's children's data. " +
        'Authorize with an API key: viewer (read the admin API), operator (ADMIN_API_KEY: steer), ingest (the Teddy app).',
    )
    .setVersion(packageVersion())
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The API key of your role' }, 'api-key')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'The same key, as `Authorization: Bearer <key>`' },
      'bearer',
    );
  for (const [name, description] of Object.entries(API_TAGS)) builder = builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: (_controllerKey: string, methodKey: string) => methodKey,
    // Tags come from @ApiTags only (a controller tagging its methods one by one would otherwise add its class name too).
    autoTagControllers: false,
  });
  assertUniqueOperationIds(document);
  return document;
}

/**
 * The same document without a database or any configuration (npm run openapi, and the spec that checks
 * docs/openapi.json): Nest's preview mode reads the modules and controllers, all the document is made
 * of, without creating any provider, so nothing connects or starts. The variables below only let the
 * modules be declared; no controller depends on them.
 */
export async function buildOpenApiDocumentWithoutDatabase(): Promise<OpenAPIObject> {
  const env = validateEnv({
    NODE_ENV: 'test',
    DATABASE_URL: 'sqlite::memory:',
    ADMIN_API_KEY: 'openapi-document-only-operator-key',
    VIEWER_API_KEY: 'openapi-document-only-viewer-key',
    LOG_FILE: '',
    SCHEDULER_ENABLED: 'false',
    NOTICE_POLL_SECONDS: '0',
  });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ env, schedulerTimers: false }), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** Serves the document at /docs-json and the Swagger UI at /docs. */
export function setupSwagger(app: NestExpressApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'teddy-scheduler API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
}

/** Object keys sorted at every level (arrays keep their order), so the written file does not move when modules are reordered. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

/** docs/openapi.json's text: keys sorted, two-space indent, a final newline. */
export function serializeOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}

/** Why `committed` (docs/openapi.json's text) is not `fresh`, with the first lines that differ; undefined when they are equal. */
export function openApiFileProblem(committed: string, fresh: string): string | undefined {
  if (committed === fresh) return undefined;
  const [a, b] = [committed.split('\n'), fresh.split('\n')];
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line++;
  const excerpt = (lines: string[], sign: string) => lines.slice(line, line + 5).map((l) => `${sign} ${l}`);
  return [
    'docs/openapi.json is stale: run npm run openapi',
    `first difference at line ${line + 1} (- committed, + the code's document):`,
    ...excerpt(a, '-'),
    ...excerpt(b, '+'),
  ].join('\n');
}
