import { assertUniqueOperationIds } from './openapi';

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
});
