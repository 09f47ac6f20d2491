/**
 * The operations of the running app, read from its OpenAPI document (/docs-json), with every $ref
 * resolved, and the role each one needs (from the documented 403: "... (needs: viewer or ingest)").
 */

export type Role = 'operator' | 'viewer' | 'ingest';
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  nullable?: boolean;
  oneOf?: Schema[];
  allOf?: Schema[];
}

export interface Param {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  method: Method;
  /** OpenAPI template: /v1/guardians/{guardianId}/children */
  path: string;
  /** "post /v1/guardians/{guardianId}/children" */
  key: string;
  params: Param[];
  body?: Schema;
  /** Roles whose key reaches the handler (an operator satisfies "viewer"). Empty: public. */
  roles: Role[];
}

const METHODS: Method[] = ['get', 'post', 'put', 'patch', 'delete'];

interface Doc {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, Schema> };
}

interface RawOperation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string }>;
  security?: unknown[];
}

/** Resolves every $ref (depth-bounded: the request DTOs are not recursive, but a cycle must not hang the drill). */
export function deref(schema: Schema | undefined, doc: Doc, depth = 0): Schema | undefined {
  if (!schema || depth > 12) return schema;
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return deref(doc.components?.schemas?.[name], doc, depth + 1);
  }
  if (schema.allOf?.length) {
    const parts = schema.allOf.map((s) => deref(s, doc, depth + 1) ?? {});
    return {
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
      required: parts.flatMap((p) => p.required ?? []),
    };
  }
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, deref(v, doc, depth + 1) ?? {}]));
    out.type ??= 'object';
  }
  if (schema.items) out.items = deref(schema.items, doc, depth + 1);
  return out;
}

function rolesOf(op: RawOperation): Role[] {
  const forbidden = op.responses?.['403']?.description ?? '';
  const m = /needs: ([a-z ]+)/.exec(forbidden);
  if (!m) return (op.security ?? []).length ? ['operator'] : [];
  const named = m[1].split(' or ').map((r) => r.trim()) as Role[];
  // An operator key satisfies a route that needs a viewer.
  return named.includes('viewer') && !named.includes('operator') ? [...named, 'operator'] : named;
}

export function operations(doc: Doc): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, raw] of Object.entries(ops)) {
      if (!METHODS.includes(method as Method)) continue;
      const params: Param[] = (raw.parameters ?? [])
        .filter((p) => p.in === 'path' || p.in === 'query')
        .map((p) => ({ name: p.name, in: p.in as 'path' | 'query', required: Boolean(p.required), schema: deref(p.schema, doc) ?? {} }));
      const json = raw.requestBody?.content?.['application/json'];
      out.push({
        method: method as Method,
        path,
        key: `${method} ${path}`,
        params,
        body: json ? deref(json.schema, doc) : undefined,
        roles: rolesOf(raw),
      });
    }
  }
  return out;
}

/** Every property name of a schema, nested ones included. */
export function schemaNames(schema: Schema | undefined, into = new Set<string>(), depth = 0): Set<string> {
  if (!schema || depth > 8) return into;
  for (const [k, v] of Object.entries(schema.properties ?? {})) {
    into.add(k);
    schemaNames(v, into, depth + 1);
  }
  if (schema.items) schemaNames(schema.items, into, depth + 1);
  return into;
}

/**
 * Paths (dot-separated, array items as index 0) of every string field of a body schema:
 * "email", "messages.0.text".
 */
export function stringFields(schema: Schema | undefined, prefix = '', depth = 0): string[] {
  if (!schema || depth > 8) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v.type === 'string') out.push(path);
    else if (v.type === 'array' && v.items) {
      if (v.items.type === 'string') out.push(`${path}.0`);
      else out.push(...stringFields(v.items, `${path}.0`, depth + 1));
    } else if (v.properties) out.push(...stringFields(v, path, depth + 1));
  }
  return out;
}

export function pathParams(op: Operation): string[] {
  return [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
}

/** Fills a path template; values are inserted as given (the caller encodes them, or not, on purpose). */
export function fillPath(op: Operation, values: Record<string, string>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? '');
}
