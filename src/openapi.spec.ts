import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  API_TAGS,
  assertUniqueOperationIds,
  buildOpenApiDocumentWithoutDatabase,
  openApiFileProblem,
  packageRoot,
  serializeOpenApiDocument,
} from './openapi';

describe('the OpenAPI document', () => {
  it('refuses two operations with one operationId, naming both', () => {
    const paths = {
      '/admin/audit': { get: { operationId: 'list', responses: {} } },
      '/admin/notifications': { get: { operationId: 'list', responses: {} }, post: { operationId: 'trigger', responses: {} } },
    };
    expect(() => assertUniqueOperationIds({ paths })).toThrow(
      'OpenAPI operationIds must be unique; rename the controller methods: list (GET /admin/audit, GET /admin/notifications)',
    );
    paths['/admin/audit'].get.operationId = 'listAuditEntries';
    expect(() => assertUniqueOperationIds({ paths })).not.toThrow();
  });

  it('is written with its keys sorted at every level, arrays in order, two-space indented, with a final newline', () => {
    const text = serializeOpenApiDocument({ paths: { '/b': {}, '/a': { get: { tags: ['z', 'a'] } as never } } } as never);
    expect(text).toBe(
      '{\n  "paths": {\n    "/a": {\n      "get": {\n        "tags": [\n          "z",\n          "a"\n        ]\n      }\n    },\n    "/b": {}\n  }\n}\n',
    );
  });

  it('says where a stale docs/openapi.json first differs', () => {
    expect(openApiFileProblem('{\n  "a": 1\n}\n', '{\n  "a": 1\n}\n')).toBeUndefined();
    expect(openApiFileProblem('{\n  "a": 1\n}\n', '{\n  "a": 2\n}\n')).toBe(
      [
        'docs/openapi.json is stale: run npm run openapi',
        "first difference at line 2 (- committed, + the code's document):",
        '-   "a": 1',
        '- }',
        '- ',
        '+   "a": 2',
        '+ }',
        '+ ',
      ].join('\n'),
    );
  });

  it('is what docs/openapi.json holds (built without a database, as npm run openapi does)', async () => {
    const document = await buildOpenApiDocumentWithoutDatabase();
    const committed = readFileSync(join(packageRoot(), 'docs', 'openapi.json'), 'utf8');
    const problem = openApiFileProblem(committed, serializeOpenApiDocument(document));
    if (problem) throw new Error(problem);
    expect(document.tags?.map((t) => t.name).sort()).toEqual(Object.keys(API_TAGS).sort());
  });
});
