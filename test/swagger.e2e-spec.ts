import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiFileProblem, packageRoot, serializeOpenApiDocument } from '../src/openapi';
import { startApp, TestApp } from './support/app';

type Schema = Record<string, any>;
type Operation = Record<string, any>;

const REQUIRED_OPERATIONS = [
  'POST /v1/guardians',
  'POST /v1/guardians/{guardianId}/children',
  'POST /v1/children/{childId}/conversations',
  'POST /v1/conversations/{conversationId}/messages',
  'GET /v1/conversations/{conversationId}/messages',
  'GET /v1/children/{childId}/conversations',
  'DELETE /v1/guardians/{guardianId}',
  'GET /admin/auth/whoami',
  'GET /health/live',
  'GET /health/ready',
];

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

/** The Content-Security-Policy header as directive -> sources. */
function parseCsp(header: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

describe('Swagger UI and the OpenAPI document', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  describe('/docs', () => {
    for (const page of ['/docs', '/docs/']) {
      it(`serves the Swagger UI at ${page} with every asset from the service itself, allowed by the CSP`, async () => {
        const res = await t.http.get(page).expect(200);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        const html = res.text;
        expect(html).toContain('<div id="swagger-ui"></div>');

        const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
        expect(scripts.length).toBeGreaterThan(0);
        const scriptSrcs = scripts.map(([, attrs, body]) => {
          const src = /\bsrc="([^"]+)"/i.exec(attrs)?.[1];
          // An inline script would be refused by script-src 'self' (no 'unsafe-inline', no nonce).
          expect(src).toBeDefined();
          expect(body.trim()).toBe('');
          return src!;
        });
        const linkHrefs = [...html.matchAll(/<link\b[^>]*\bhref="([^"]+)"/gi)].map((m) => m[1]);
        // script-src-attr 'none': no inline event handlers either.
        expect(html).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);

        const assets = [...scriptSrcs, ...linkHrefs];
        const base = new URL(page, 'http://teddy.test');
        const paths = assets.map((ref) => {
          const url = new URL(ref, base);
          // Same origin: no CDN, nothing absolute elsewhere.
          expect(url.origin).toBe(base.origin);
          return url.pathname;
        });
        const names = paths.map((p) => p.slice(p.lastIndexOf('/') + 1));
        expect(names).toEqual(
          expect.arrayContaining(['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui-init.js', 'swagger-ui.css']),
        );

        for (const path of paths) {
          const asset = await t.http.get(path).expect(200);
          const body = asset.text ?? asset.body;
          expect(asset.headers['content-type']).toMatch(/^(application\/javascript|text\/javascript|text\/css|image\/png)/);
          if (path.endsWith('.js')) expect(asset.headers['content-type']).toMatch(/javascript/);
          if (path.endsWith('.css')) expect(asset.headers['content-type']).toMatch(/^text\/css/);
          expect(Number(asset.headers['content-length'] ?? body.length)).toBeGreaterThan(0);
        }

        const bundle = await t.http.get(paths[names.indexOf('swagger-ui-bundle.js')]).expect(200);
        expect(bundle.text).toContain('SwaggerUIBundle');
        const init = await t.http.get(paths[names.indexOf('swagger-ui-init.js')]).expect(200);
        expect(init.text).toContain('SwaggerUIBundle(');
        expect(init.text).not.toMatch(/https?:\/\/(?!swagger\.io|www\.w3\.org)[a-z0-9.-]+\//i);

        const csp = parseCsp(String(res.headers['content-security-policy'] ?? ''));
        const scriptSrc = csp.get('script-src') ?? csp.get('default-src');
        expect(scriptSrc).toContain("'self'");
        expect(scriptSrc).not.toContain("'none'");
        const styleSrc = csp.get('style-src') ?? csp.get('default-src');
        expect(styleSrc).toContain("'self'");
        // The page carries inline <style> blocks.
        if (/<style\b/i.test(html)) expect(styleSrc).toContain("'unsafe-inline'");
        const imgSrc = csp.get('img-src') ?? csp.get('default-src');
        expect(imgSrc).toContain("'self'");
        // Swagger UI fetches its document from the same origin.
        const connectSrc = csp.get('connect-src') ?? csp.get('default-src');
        expect(connectSrc).toContain("'self'");
      });
    }
  });

  describe('/docs-json', () => {
    let doc: Record<string, any>;
    let operations: Array<{ key: string; path: string; method: string; op: Operation }>;

    beforeAll(async () => {
      const res = await t.http.get('/docs-json').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      doc = res.body;
      operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([method]) => HTTP_METHODS.includes(method))
          .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
      );
    });

    const resolve = (schema: Schema | undefined): Schema | undefined => {
      if (!schema?.$ref) return schema;
      const name = String(schema.$ref).replace('#/components/schemas/', '');
      return doc.components.schemas[name];
    };

    const schemes = () => {
      const all = Object.entries(doc.components.securitySchemes as Record<string, Schema>);
      const apiKey = all.find(([, s]) => s.type === 'apiKey' && s.in === 'header' && s.name === 'X-API-Key');
      const bearer = all.find(([, s]) => s.type === 'http' && String(s.scheme).toLowerCase() === 'bearer');
      return { apiKey: apiKey?.[0], bearer: bearer?.[0] };
    };

    const guarded = () => operations.filter((o) => o.path.startsWith('/v1/') || o.path.startsWith('/admin/'));

    it('is an OpenAPI 3 document with every documented operation', () => {
      expect(String(doc.openapi)).toMatch(/^3\.\d+\.\d+$/);
      const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8'));
      expect(doc.info).toMatchObject({ title: 'teddy-scheduler', version });
      expect(operations.map((o) => o.key)).toEqual(expect.arrayContaining(REQUIRED_OPERATIONS));
      // Operational endpoints that are not an API stay out of it.
      expect(Object.keys(doc.paths)).not.toContain('/metrics');
    });

    it('names every operation after its controller method, each name once', () => {
      // Every routed controller method, as "METHOD /path" -> method name, read from Nest's own metadata.
      const routed = new Map<string, string>();
      for (const module of t.app.get(ModulesContainer).values()) {
        for (const { metatype } of module.controllers.values()) {
          const controller = metatype as new (...args: never[]) => object;
          const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
          for (const name of Object.getOwnPropertyNames(controller.prototype)) {
            const handler = (controller.prototype as Record<string, unknown>)[name];
            if (name === 'constructor' || typeof handler !== 'function') continue;
            const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
            if (method === undefined) continue;
            const path = ['', base, String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')]
              .join('/')
              .replace(/\/+/g, '/')
              .replace(/\/$/, '')
              .replace(/:(\w+)/g, '{$1}');
            routed.set(`${RequestMethod[method]} ${path}`, name);
          }
        }
      }
      // Every route is documented but the Prometheus endpoint (@ApiExcludeController).
      const documented = new Set(operations.map((o) => o.key));
      expect([...routed.keys()].filter((key) => !documented.has(key))).toEqual(['GET /metrics']);
      for (const { key, op } of operations) expect({ key, operationId: op.operationId }).toEqual({ key, operationId: routed.get(key) });
      const ids = operations.map((o) => o.op.operationId as string);
      expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
      // The names a generated client calls the ingest API by.
      expect(Object.fromEntries(operations.filter((o) => o.path.startsWith('/v1/')).map((o) => [o.key, o.op.operationId]))).toMatchObject({
        'POST /v1/guardians': 'createGuardian',
        'POST /v1/guardians/{guardianId}/children': 'createChild',
        'POST /v1/children/{childId}/conversations': 'createConversation',
        'POST /v1/conversations/{conversationId}/messages': 'appendMessages',
        'GET /v1/conversations/{conversationId}/messages': 'listMessages',
        'GET /v1/children/{childId}/conversations': 'listConversations',
        'DELETE /v1/guardians/{guardianId}': 'eraseGuardian',
        'GET /v1/guardians': 'findGuardianByEmail',
        'GET /v1/guardians/{guardianId}': 'getGuardian',
        'PATCH /v1/guardians/{guardianId}': 'updateGuardian',
        'GET /v1/guardians/{guardianId}/children': 'listChildren',
      });
    });

    it('tags every operation, and describes every tag it uses', () => {
      const described = new Map((doc.tags as Array<{ name: string; description?: string }>).map((tag) => [tag.name, tag.description]));
      const used = new Set<string>();
      for (const { key, op } of operations) {
        expect({ key, tagged: (op.tags ?? []).length > 0 }).toEqual({ key, tagged: true });
        for (const tag of op.tags as string[]) used.add(tag);
      }
      expect([...used].sort()).toEqual(['admin', 'cleanup', 'health', 'ingest', 'scheduler']);
      for (const tag of used)
        expect({ tag, description: described.get(tag) }).toEqual({ tag, description: expect.stringMatching(/\w{3,}/) });
      // No tag is declared that nothing uses.
      expect([...described.keys()].sort()).toEqual([...used].sort());
    });

    it('is what docs/openapi.json holds', () => {
      const committed = readFileSync(join(packageRoot(), 'docs', 'openapi.json'), 'utf8');
      const problem = openApiFileProblem(committed, serializeOpenApiDocument(doc as never));
      if (problem) throw new Error(problem);
    });

    it('declares an X-API-Key header scheme and a bearer scheme', () => {
      const { apiKey, bearer } = schemes();
      expect(apiKey).toBeDefined();
      expect(bearer).toBeDefined();
      expect(apiKey).not.toBe(bearer);
    });

    it('requires either scheme on every /v1 and /admin operation', () => {
      const { apiKey, bearer } = schemes();
      expect(guarded().length).toBeGreaterThanOrEqual(8);
      for (const { key, op } of guarded()) {
        const security = op.security as Array<Record<string, string[]>> | undefined;
        expect({ key, security }).toEqual({ key, security: expect.arrayContaining([{ [apiKey!]: [] }, { [bearer!]: [] }]) });
        for (const requirement of security!) {
          for (const name of Object.keys(requirement)) expect(doc.components.securitySchemes).toHaveProperty([name]);
        }
      }
    });

    it('documents a 2xx answer with a schema on every /v1 and /admin operation', () => {
      for (const { key, op } of guarded()) {
        const ok = Object.entries(op.responses as Record<string, Schema>).filter(([code]) => /^2\d\d$/.test(code));
        const withSchema = ok.filter(([, r]) => r.content?.['application/json']?.schema);
        expect({ key, documented: withSchema.length > 0 }).toEqual({ key, documented: true });
        for (const [, r] of withSchema) {
          const schema = r.content['application/json'].schema as Schema;
          const target = resolve(schema);
          expect({ key, schema: !!(target?.properties || target?.oneOf || target?.type) }).toEqual({ key, schema: true });
        }
      }
    });

    it('documents 401 and 403, and 400 where there is input, in the one error shape', () => {
      const error = doc.components.schemas.ErrorResponseDto as Schema;
      expect(error).toBeDefined();
      expect(error.properties).toMatchObject({
        statusCode: { type: expect.stringMatching(/^(number|integer)$/) },
        error: { type: 'string' },
        message: { type: 'string' },
      });
      expect(error.required).toEqual(expect.arrayContaining(['statusCode', 'error', 'message']));

      for (const { key, op } of guarded()) {
        const hasInput = !!op.requestBody || (op.parameters ?? []).length > 0;
        const codes = ['401', '403', ...(hasInput ? ['400'] : [])];
        for (const code of codes) {
          const schema = op.responses[code]?.content?.['application/json']?.schema;
          expect({ key, code, schema }).toEqual({ key, code, schema: { $ref: '#/components/schemas/ErrorResponseDto' } });
        }
      }
    });

    it('gives every request-body property an example or an enum', () => {
      const seen = new Set<string>();
      const checked: string[] = [];
      const visit = (schema: Schema | undefined, where: string): void => {
        if (!schema) return;
        if (schema.$ref) {
          const name = String(schema.$ref).replace('#/components/schemas/', '');
          if (seen.has(name)) return;
          seen.add(name);
          return visit(doc.components.schemas[name], name);
        }
        for (const sub of [...(schema.oneOf ?? []), ...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) visit(sub, where);
        if (schema.items) visit(schema.items, where);
        for (const [prop, p] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
          const described = p.example !== undefined || Array.isArray(p.enum) || Array.isArray(p.items?.enum);
          checked.push(`${where}.${prop}`);
          expect({ property: `${where}.${prop}`, described }).toEqual({ property: `${where}.${prop}`, described: true });
          visit(p.items, where);
          if (p.$ref) visit(p, where);
        }
      };
      const withBody = operations.filter((o) => o.op.requestBody);
      expect(withBody.map((o) => o.key)).toEqual(
        expect.arrayContaining([
          'POST /v1/guardians',
          'POST /v1/guardians/{guardianId}/children',
          'POST /v1/children/{childId}/conversations',
          'POST /v1/conversations/{conversationId}/messages',
        ]),
      );
      for (const { key, op } of withBody) {
        const schema = op.requestBody.content?.['application/json']?.schema;
        expect({ key, schema: !!schema }).toEqual({ key, schema: true });
        visit(schema, key);
      }
      // The walk reached the DTOs and the nested batch item.
      expect(checked).toEqual(
        expect.arrayContaining([
          'CreateGuardianDto.email',
          'CreateGuardianDto.notificationsEnabled',
          'AppendMessagesDto.messages',
          'MessageInputDto.role',
        ]),
      );
    });
  });
});
