import * as fc from 'fast-check';
import { fillPath, Operation, Param, pathParams, Role, Schema, schemaNames } from './openapi';
import { keysOf, WireRequest } from './probe';

// ---------------------------------------------------------------------------------------------
// Payload lists (shared with the injection drill)
// ---------------------------------------------------------------------------------------------

export const SQL_PAYLOADS = [
  "' OR '1'='1",
  "' OR '1'='1' --",
  "' OR 1=1 --",
  '1; DROP TABLE message; --',
  "'; DROP TABLE guardian; --",
  "1'; DELETE FROM message WHERE '1'='1",
  '" OR ""="',
  "') OR 1=1--",
  "')) OR 1=1--",
  "' UNION SELECT id, text, role, conversation_id, created_at FROM message --",
  "' AND 1=CAST((SELECT version()) AS int) --",
  "'; SELECT pg_sleep(6); --",
  "' || (SELECT pg_sleep(6)) || '",
  '1 AND randomblob(500000000)',
  '%27%20OR%201%3D1',
  '%27%3B%20DROP%20TABLE%20message%3B--',
  '$1',
  '$1::text',
  '?',
  ':target',
  '\\',
  "\\'",
  "\\' OR 1=1 --",
  '%',
  '_',
  "' OR target LIKE '%",
  '*',
  "admin'--",
  "daily_data_cleanup' OR '1'='1",
  'daily_data_cleanup"; --',
  '0x00',
  'null',
  'NULL',
  'undefined',
  'true',
  '1e309',
  '-1',
  '{}',
  '[]',
  '{"$gt":""}',
];

export const TRAVERSAL_PAYLOADS = [
  '../../etc/passwd',
  '../../../../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '..%2F..%2F',
  '%2e%2e/',
  '%2e%2e%2f%2e%2e%2f',
  '%252e%252e%252f',
  '..\\..\\windows\\win.ini',
  '/etc/passwd%00',
  '/etc/passwd\u0000.png',
  '....//....//etc/passwd',
  '..;/..;/',
  'file:///etc/passwd',
  '/dev/random',
  '~/.ssh/id_rsa',
];

/** Look-alikes of quotes, dots and slashes that a naive normaliser might fold into the real thing. */
export const HOMOGLYPH_PAYLOADS = [
  '\u02BC OR \u02BC1\u02BC=\u02BC1', // modifier letter apostrophe
  '\uFF07 OR \uFF071\uFF07=\uFF071', // fullwidth apostrophe
  '\u2019; DROP TABLE message; --', // right single quotation mark
  '\uFF0E\uFF0E\uFF0F\uFF0E\uFF0E\uFF0Fetc\uFF0Fpasswd', // fullwidth dots and solidus
  '\u2024\u2024/\u2024\u2024/etc/passwd', // one dot leader
  '\u2215etc\u2215passwd', // division slash
  '\u0430dmin', // Cyrillic a
  'daily_data_cleanu\u0440', // Cyrillic er
  '\u202Egnp.exe', // right-to-left override
  'a\u200Bb', // zero-width space
  'e\u0301', // combining acute
];

const OTHER_PAYLOADS = ['<script>alert(1)</script>', '${7*7}', '{{7*7}}', '%n%s%x', '\r\nX-Injected: 1', 'a'.repeat(201)];

export const ATTACK_PAYLOADS = [...new Set([...SQL_PAYLOADS, ...TRAVERSAL_PAYLOADS, ...HOMOGLYPH_PAYLOADS, ...OTHER_PAYLOADS])];

/** Variation selectors: validator's MaxLength counts "a\uFE0F" as 1 character, a database column as 2. */
const VS = (n: number) => 'a\uFE0F'.repeat(n);
/** A valid cron expression of 237 characters (every minute): longer than the 200-character cron column. */
export const LONG_CRON = `${Array.from({ length: 60 }, (_, i) => i).join(',')} ${Array.from({ length: 24 }, (_, i) => i).join(',')} * * *`;

const FAR_DATES = [
  '0001-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '1970-01-01T00:00:00Z',
  '1970-01-01T00:00:00+23:59',
  '1970-01-01T00:30:00+01:00',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59-23:59',
  '2999-01-01T00:00:00Z',
  '275760-09-13T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '-000001-01-01T00:00:00Z',
  '2024-02-29T23:59:59+14:00',
  '2025-02-29T00:00:00Z',
  '2026-11-28T10:00:00.999999Z',
  '2026-11-28T10:00:00.9999999Z',
  '2026-11-28T24:00:00Z',
  '2026-11-28T10:00:60Z',
  '2026-11-28 10:00:00Z',
  '2026-11-28T10:00:00',
  '20261128T100000Z',
  'now',
  '',
];

// ---------------------------------------------------------------------------------------------
// Basic arbitraries
// ---------------------------------------------------------------------------------------------

const hugeString = fc
  .tuple(fc.constantFrom('x', 'é', '😀', ' ', 'a\uFE0F', '\u0000', '\\', '"', '%'), fc.integer({ min: 101, max: 60_000 }))
  .map(([c, n]) => c.repeat(n));

const withNul = fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([a, b]) => `${a}\u0000${b}`);

export const evilString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...ATTACK_PAYLOADS) },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: withNul },
  { weight: 1, arbitrary: fc.constantFrom(VS(60), VS(101), VS(150), VS(199), '\uD800', 'a\uDFFFb', '\uFEFF') },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t\n', '   padded   ', '\u00A0', '\u3000') },
  { weight: 2, arbitrary: fc.constantFrom(...FAR_DATES) },
);

const evilNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    -1,
    0,
    1e308,
    -1e308,
    2 ** 53 + 2,
    2 ** 31,
    -(2 ** 31) - 1,
    1.5,
    -0,
    1e-300,
    31,
    101,
    201,
    501,
    3651,
    31_536_001,
    99_999_999_999,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Deeply nested arrays or objects: serialized by hand, since a JSON library would overflow its own stack. */
export class Deep {
  constructor(
    readonly shape: 'arr' | 'obj',
    readonly depth: number,
  ) {}
  toJSON(): string {
    return `\u0000DEEP:${this.shape}:${this.depth}`;
  }
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function serialize(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.replace(/"\\u0000DEEP:(arr|obj):(\d+)"/g, (_, shape: string, n: string) =>
    shape === 'arr' ? `${'['.repeat(Number(n))}"x"${']'.repeat(Number(n))}` : `${'{"a":'.repeat(Number(n))}"x"${'}'.repeat(Number(n))}`,
  );
}

const deep = fc
  .tuple(
    fc.constantFrom<'arr' | 'obj'>('arr', 'obj'),
    fc.oneof(fc.integer({ min: 2, max: 64 }), fc.constantFrom(500, 1000, 1500, 3000, 10_000)),
  )
  .map(([shape, depth]) => new Deep(shape, depth));

const evilValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: evilString },
  { weight: 3, arbitrary: evilNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }) },
  { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
  { weight: 1, arbitrary: deep },
);

const evilKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'isAdmin',
    'role',
    'id',
    'builtin',
    'version',
    'guardianId',
    'childId',
    'messages',
    '$where',
    '$gt',
    'toString',
    'hasOwnProperty',
    'a.b',
    '0',
    ' ',
  ),
  fc.string({ minLength: 1, maxLength: 16 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
);

/** Printable ASCII without spaces: what a header value can carry. */
const headerToken = (min: number, max: number) => fc.stringMatching(new RegExp(`^[\\x21-\\x7e]{${min},${max}}$`));

// ---------------------------------------------------------------------------------------------
// Valid-ish values from the schema (with hints from field names, as a client would fill them)
// ---------------------------------------------------------------------------------------------

export interface FuzzContext {
  keys: Record<Role, string>;
  /** Real ids a path parameter may take on this route (never ids of data the drill needs intact, on a destructive route). */
  realIds(op: Operation, param: string): string[];
  /** Real cursors returned by the API. */
  cursors: string[];
  /** Real guardian ids, for filters. */
  guardianIds: string[];
}

// No dense schedules (LONG_CRON fires every minute): a cleanup job firing that often makes each notice run plan thousands of
// runs, a legitimately long run rather than a bug; the 237-character cron is pinned on its own in the spec instead.
const VALID_CRONS = [
  '0 0 * * *',
  '0 */6 * * *',
  '0 9,18 * * *',
  '0 0 1 1 *',
  '30 2 * * 1-5',
  '0 0 0 * * *',
  '59 23 31 12 *',
  '0 0 29 2 *',
  '0 0 30 2 *',
];
const TIME_ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns', 'Pacific/Kiritimati', 'Etc/GMT+12'];
// Fixed bounds (not Date.now()), so a seed always generates the same requests.
const pastIso = fc
  .date({ min: new Date('2001-01-01T00:00:00Z'), max: new Date('2025-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

function validString(name: string, s: Schema, ctx: FuzzContext): fc.Arbitrary<string> {
  if (s.enum?.length) return fc.constantFrom(...(s.enum as string[]));
  const lower = name.toLowerCase();
  if (lower === 'email')
    return fc.oneof(
      fc.uuid().map((u) => `fuzz-${u.slice(0, 13)}@example.com`),
      fc.emailAddress(),
    );
  if (lower === 'cron') return fc.constantFrom(...VALID_CRONS);
  if (lower === 'timezone') return fc.constantFrom(...TIME_ZONES);
  if (lower === 'cursor') return ctx.cursors.length ? fc.constantFrom(...ctx.cursors) : fc.constant('');
  if (lower === 'guardianid') return fc.oneof(fc.constantFrom(...ctx.guardianIds), fc.uuid());
  if (/(at|date)$/i.test(name)) return pastIso;
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).map((v) => v.slice(0, 30));
  if (s.format === 'uuid') return fc.uuid();
  const max = Math.min(s.maxLength ?? 60, 60);
  return fc.oneof(
    ...(typeof s.example === 'string' ? [fc.constant(s.example)] : []),
    fc.string({ minLength: 1, maxLength: max }).filter((v) => v.trim().length > 0 && !v.includes('\u0000')),
  );
}

export function validish(name: string, s: Schema | undefined, ctx: FuzzContext, depth = 0): fc.Arbitrary<unknown> {
  if (!s || depth > 6) return fc.constant({});
  if (s.enum?.length) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'string':
      return validString(name, s, ctx);
    case 'number':
    case 'integer': {
      const min = s.minimum ?? 1;
      const max = s.maximum ?? min + 29;
      return fc.integer({ min, max: Math.min(max, min + 1000) });
    }
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(validish(name, s.items, ctx, depth + 1), { minLength: 1, maxLength: 3 });
    default:
      break;
  }
  const props = Object.entries(s.properties ?? {});
  if (!props.length) return fc.constant({});
  // One body, two forms (single message or a batch): pick one, as a client would.
  if (s.properties?.messages && s.properties?.role && !s.required?.length) {
    const single = fc.record(
      {
        role: validish('role', s.properties.role, ctx),
        text: validish('text', s.properties.text, ctx),
        createdAt: validish('createdAt', s.properties.createdAt, ctx),
      },
      { requiredKeys: ['role', 'text'] },
    );
    const batch = fc.record({ messages: validish('messages', s.properties.messages, ctx, depth + 1) });
    return fc.oneof(single, batch);
  }
  const shape = Object.fromEntries(props.map(([k, v]) => [k, validish(k, v, ctx, depth + 1)]));
  return fc.record(shape, { requiredKeys: s.required ?? [] });
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

type Mutation =
  | { kind: 'set'; pick: number; value: unknown }
  | { kind: 'delete'; pick: number }
  | { kind: 'extra'; pick: number; key: string; value: unknown }
  | { kind: 'size'; pick: number; n: number }
  | { kind: 'wrap' }
  | { kind: 'replace'; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('set' as const), pick: fc.nat(), value: evilValue }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('extra' as const), pick: fc.nat(), key: evilKey, value: evilValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('size' as const), pick: fc.nat(), n: fc.constantFrom(0, 1001, 3000) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'wrap' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      value: fc.oneof(fc.constant(null), evilNumber, evilString, fc.constant([]), fc.boolean()),
    }),
  },
);

interface Slot {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
  path: string;
}

function slots(value: unknown, path = '', out: Slot[] = [], depth = 0): Slot[] {
  if (depth > 4 || value === null || typeof value !== 'object' || value instanceof Deep) return out;
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [k, v] of entries) {
    const p = path ? `${path}.${k}` : String(k);
    out.push({ parent: value as Record<string, unknown>, key: k, path: p });
    slots(v, p, out, depth + 1);
  }
  return out;
}

function containers(value: unknown, out: Array<Record<string, unknown>> = [], depth = 0): Array<Record<string, unknown>> {
  if (depth > 4 || value === null || typeof value !== 'object' || value instanceof Deep) return out;
  if (!Array.isArray(value)) out.push(value as Record<string, unknown>);
  for (const v of Object.values(value)) containers(v, out, depth + 1);
  return out;
}

/** Applies mutations to a (copied) valid-ish body; returns the body and a label per mutation. */
export function mutate(body: unknown, mutations: Mutation[], schema: Schema | undefined): { body: unknown; labels: string[] } {
  let out: unknown = structuredClone(body);
  const labels: string[] = [];
  const topNames = Object.keys(schema?.properties ?? {});
  for (const m of mutations) {
    switch (m.kind) {
      case 'set': {
        const all = slots(out);
        // Half the time aim at a documented top-level field, present or not: optional fields get bad values too.
        if (topNames.length && out && typeof out === 'object' && !Array.isArray(out) && (m.pick % 2 === 0 || !all.length)) {
          const k = topNames[(m.pick >> 1) % topNames.length];
          (out as Record<string, unknown>)[k] = m.value;
          labels.push(`set ${k}`);
        } else if (all.length) {
          const s = all[m.pick % all.length];
          (s.parent as Record<string, unknown>)[s.key] = m.value;
          labels.push(`set ${s.path}`);
        }
        break;
      }
      case 'delete': {
        const all = slots(out);
        if (!all.length) break;
        const s = all[m.pick % all.length];
        if (Array.isArray(s.parent)) s.parent.splice(Number(s.key), 1);
        else delete s.parent[s.key as string];
        labels.push(`delete ${s.path}`);
        break;
      }
      case 'extra': {
        const all = containers(out);
        if (!all.length) break;
        const target = all[m.pick % all.length];
        // defineProperty: a "__proto__" key must become an own property, as JSON.parse makes it on the server.
        Object.defineProperty(target, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
        labels.push(`extra ${JSON.stringify(m.key).slice(0, 20)}`);
        break;
      }
      case 'size': {
        const arrays = slots(out).filter((s) => Array.isArray((s.parent as Record<string, unknown>)[s.key as string]));
        const s = arrays.length ? arrays[m.pick % arrays.length] : undefined;
        if (!s) break;
        const items = (s.parent as Record<string, unknown[]>)[s.key as string];
        (s.parent as Record<string, unknown>)[s.key as string] = Array.from({ length: m.n }, (_, i) =>
          structuredClone(items[i % Math.max(items.length, 1)] ?? {}),
        );
        labels.push(`size ${s.path}=${m.n}`);
        break;
      }
      case 'wrap':
        out = [out];
        labels.push('wrap in array');
        break;
      case 'replace':
        out = m.value;
        labels.push(`replace body with ${typeof m.value}`);
        break;
    }
  }
  return { body: out, labels };
}

// ---------------------------------------------------------------------------------------------
// Whole requests
// ---------------------------------------------------------------------------------------------

export interface FuzzCase {
  op: Operation;
  req: WireRequest;
  /** Names a 4xx message may legitimately point at: the route's parameters and fields, and every key sent. */
  names: string[];
  labels: string[];
}

/** encodeURIComponent, except that a lone surrogate goes out as its raw (invalid UTF-8) bytes. */
export function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...value]
      .map((ch) => {
        const c = ch.charCodeAt(0);
        if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff)
          return `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
        return encodeURIComponent(ch);
      })
      .join('');
  }
}

/** Path segments sent as they are: dot segments, encoded slashes, NUL, bad escapes, raw Latin-1. */
const RAW_SEGMENTS = [
  '..',
  '../..',
  '..%2F..%2F',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e',
  '%2e%2e%2f',
  '%2F',
  '%5C',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AE%C0%AE%2F',
  '%ED%A0%80',
  '%27%20OR%201%3D1',
  ';',
  '.',
  '~',
  "'",
  '"',
  '\u00e9',
  '\u00ff\u00fe',
  '*',
  '$1',
];

function pathValue(op: Operation, name: string, ctx: FuzzContext): fc.Arbitrary<{ value: string; label: string }> {
  const real = ctx.realIds(op, name);
  return fc.oneof(
    {
      weight: real.length ? 5 : 0,
      arbitrary: fc.constantFrom(...(real.length ? real : ['x'])).map((v) => ({ value: encode(v), label: `${name}=real` })),
    },
    { weight: 2, arbitrary: fc.uuid().map((v) => ({ value: v, label: `${name}=uuid` })) },
    { weight: 3, arbitrary: evilString.map((v) => ({ value: encode(v.slice(0, 600)), label: `${name}=evil` })) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((v) => ({ value: v, label: `${name}=raw ${v}` })) },
    { weight: 1, arbitrary: fc.integer({ min: 65, max: 3000 }).map((n) => ({ value: 'a'.repeat(n), label: `${name}=long ${n}` })) },
  );
}

type QueryPair = [string, string];

function queryPairs(op: Operation, ctx: FuzzContext): fc.Arbitrary<QueryPair[]> {
  const documented = op.params.filter((p) => p.in === 'query');
  const value = (p: Param) =>
    fc.oneof(
      { weight: 4, arbitrary: validish(p.name, p.schema, ctx).map(String) },
      { weight: 3, arbitrary: evilString.map((v) => v.slice(0, 600)) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '0',
          '-1',
          '201',
          '501',
          '1e3',
          '1.5',
          'NaN',
          'Infinity',
          '0x10',
          ' 5',
          '5abc',
          '99999999999999999999',
          '',
          'null',
        ),
      },
    );
  const knownPair: fc.Arbitrary<QueryPair[]> = documented.length
    ? fc.constantFrom(...documented).chain((p) =>
        fc.oneof(
          { weight: 6, arbitrary: value(p).map((v) => [[p.name, v]] as QueryPair[]) },
          // The same key twice: Express hands the DTO an array.
          {
            weight: 1,
            arbitrary: fc.tuple(value(p), value(p)).map(
              ([a, b]) =>
                [
                  [p.name, a],
                  [p.name, b],
                ] as QueryPair[],
            ),
          },
          { weight: 1, arbitrary: value(p).map((v) => [[`${p.name}[]`, v]] as QueryPair[]) },
          { weight: 1, arbitrary: value(p).map((v) => [[`${p.name}[a]`, v]] as QueryPair[]) },
        ),
      )
    : fc.constant([]);
  const randomPair: fc.Arbitrary<QueryPair[]> = fc
    .tuple(
      evilKey,
      evilString.map((v) => v.slice(0, 200)),
    )
    .map(([k, v]) => [[k, v]]);
  // At most 4 pairs of at most 3000 characters: the request stays under Node's 16 KiB limit on the
  // request line and headers, past which Node's own parser answers 431 before the application sees it.
  const longPair: fc.Arbitrary<QueryPair[]> = fc
    .tuple(documented.length ? fc.constantFrom(...documented.map((p) => p.name)) : evilKey, fc.integer({ min: 1000, max: 3000 }))
    .map(([k, n]) => [[k, 'q'.repeat(n)]]);
  return fc
    .array(fc.oneof({ weight: 6, arbitrary: knownPair }, { weight: 2, arbitrary: randomPair }, { weight: 1, arbitrary: longPair }), {
      maxLength: 4,
    })
    .map((groups) => groups.flat());
}

/**
 * Most pairs percent-encoded; some sent raw (a stray % is an invalid escape) — never a raw # or space,
 * which would change the URL itself.
 */
function queryString(pairs: QueryPair[], raw: boolean): string {
  const rawPart = (s: string) =>
    [...s].map((ch) => (/[\x21-\x7e]/.test(ch) && ch !== '#' && ch !== '&' && ch !== '=' ? ch : encode(ch))).join('');
  const enc = raw ? rawPart : encode;
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

type Headers = Array<[string, string | string[]]>;

function authHeaders(op: Operation, ctx: FuzzContext): fc.Arbitrary<{ headers: Headers; label: string }> {
  const right = fc.tuple(fc.constantFrom(...op.roles), fc.constantFrom('x-api-key', 'bearer', 'BEARER', 'spaced')).map(([role, form]) => {
    const key = ctx.keys[role];
    const headers: Headers =
      form === 'x-api-key'
        ? [['X-API-Key', key]]
        : form === 'spaced'
          ? [['Authorization', `  bearer   ${key}  `]]
          : [['Authorization', `${form === 'bearer' ? 'Bearer' : 'BEARER'} ${key}`]];
    return { headers, label: `auth ${role}/${form}` };
  });
  const others = (Object.keys(ctx.keys) as Role[]).filter((r) => !op.roles.includes(r));
  const garbage = headerToken(1, 80);
  return fc.oneof(
    { weight: 85, arbitrary: right },
    {
      weight: others.length ? 4 : 0,
      arbitrary: fc
        .constantFrom(...(others.length ? others : op.roles))
        .map((r) => ({ headers: [['X-API-Key', ctx.keys[r]]] as Headers, label: `auth wrong role ${r}` })),
    },
    { weight: 4, arbitrary: garbage.map((k) => ({ headers: [['X-API-Key', k]] as Headers, label: 'auth garbage key' })) },
    {
      weight: 2,
      arbitrary: garbage.map((k) => ({ headers: [['Authorization', `Bearer ${k}`]] as Headers, label: 'auth garbage bearer' })),
    },
    { weight: 2, arbitrary: garbage.map((k) => ({ headers: [['Authorization', k]] as Headers, label: 'auth garbage scheme' })) },
    { weight: 3, arbitrary: fc.constant({ headers: [] as Headers, label: 'auth none' }) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...op.roles)
        .map((r) => ({ headers: [['X-API-Key', [ctx.keys[r], ctx.keys[r]]]] as Headers, label: 'auth duplicated X-API-Key' })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...op.roles), garbage).map(([r, k]) => ({
        headers: [
          ['X-API-Key', k],
          ['Authorization', `Bearer ${ctx.keys[r]}`],
        ] as Headers,
        label: 'auth garbage X-API-Key + right Bearer',
      })),
    },
  );
}

const CONTENT_TYPES: fc.Arbitrary<string | string[]> = fc.oneof(
  { weight: 80, arbitrary: fc.constant('application/json') },
  { weight: 5, arbitrary: fc.constant('application/json; charset=utf-8') },
  {
    weight: 15,
    arbitrary: fc.constantFrom<string | string[]>(
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json; charset=bogus',
      'application/json; charset="',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=zz',
      'application/vnd.api+json',
      'application/xml',
      'a/b/c;;;=',
      '*/*',
      'application/json, text/plain',
      ['application/json', 'text/plain'],
    ),
  },
);

const INVALID_JSON = [
  '{',
  '{"a":',
  "{'a':1}",
  '[1,]',
  'NaN',
  '{"a":1}}',
  '\uFEFF{}',
  'null',
  'true',
  '"str"',
  '1e999',
  '{"a":"\\ud800"}',
  '{"a":"\\x00"}',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '\u0000',
  '{"a":1,"a":2}',
];

const extraHeaders: fc.Arbitrary<Headers> = fc.array(
  fc.oneof(
    fc
      .oneof(
        headerToken(1, 64).filter((v) => /^[A-Za-z0-9._-]+$/.test(v)),
        headerToken(65, 120),
        fc.constant('a b'),
      )
      .map((v) => ['X-Request-Id', v] as [string, string]),
    headerToken(1, 40).map((v) => ['X-Forwarded-For', v] as [string, string]),
    fc.constantFrom('application/xml', 'text/html', '*/*', 'image/png', ';;;').map((v) => ['Accept', v] as [string, string]),
    fc.constantFrom('ar', 'xx', '*').map((v) => ['Accept-Language', v] as [string, string]),
    headerToken(1, 60).map((v) => ['Cookie', v] as [string, string]),
    fc.constantFrom('DELETE', 'PUT', 'GET').map((v) => ['X-HTTP-Method-Override', v] as [string, string]),
    fc.constant(['Origin', 'http://evil.example'] as [string, string]),
    fc.constant(['Range', 'bytes=0-1'] as [string, string]),
  ),
  { maxLength: 2 },
);

interface BodyPart {
  text?: string;
  contentType?: string | string[];
  encoding?: string;
  keys: string[];
  labels: string[];
}

function bodyPart(op: Operation, ctx: FuzzContext, bodyLimitBytes: number): fc.Arbitrary<BodyPart> {
  const json = (schema: Schema | undefined) =>
    fc.tuple(validish('body', schema, ctx), fc.array(mutation, { maxLength: 3 }), CONTENT_TYPES).map(([valid, muts, ct]) => {
      const { body, labels } = mutate(valid, muts, schema);
      const text = serialize(body);
      // Deeply nested objects are serialized by hand: their key is "a".
      const keys = [...keysOf(body), ...(text.includes('{"a":{"a":') ? ['a'] : [])];
      return {
        text,
        contentType: ct,
        keys,
        labels: [...labels, ...(ct !== 'application/json' ? [`content-type ${JSON.stringify(ct)}`] : [])],
      };
    });
  const invalid = fc
    .constantFrom(...INVALID_JSON)
    .map((text): BodyPart => ({ text, contentType: 'application/json', keys: [...keysOf(parsed(text))], labels: ['odd or invalid JSON'] }));
  const form = fc
    .tuple(fc.constantFrom('application/x-www-form-urlencoded', 'text/plain'), fc.string({ maxLength: 60 }))
    .map(([ct, s]) => ({
      text: `email=${encode(s)}&displayName=x`,
      contentType: ct,
      keys: ['email', 'displayName'],
      labels: [`form body as ${ct}`],
    }));
  const encoded = fc
    .tuple(json(op.body), fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-fuzz', 'gzip, gzip'))
    .map(([b, enc]) => ({ ...b, encoding: enc, labels: [...b.labels, `Content-Encoding ${enc} (body not encoded)`] }));
  const oversize = fc.constant<BodyPart>({
    text: JSON.stringify({ text: 'o'.repeat(bodyLimitBytes + 1024) }),
    contentType: 'application/json',
    keys: ['text'],
    labels: ['body over the limit'],
  });
  const none = fc.constant<BodyPart>({ keys: [], labels: [] });
  if (op.body) {
    return fc.oneof(
      { weight: 75, arbitrary: json(op.body) },
      { weight: 6, arbitrary: invalid },
      { weight: 5, arbitrary: form },
      { weight: 4, arbitrary: none.map((b) => ({ ...b, labels: ['no body'] })) },
      { weight: 3, arbitrary: encoded },
      { weight: 1, arbitrary: oversize },
    );
  }
  // Routes without a body get one now and then anyway.
  return fc.oneof(
    { weight: 85, arbitrary: none },
    { weight: 8, arbitrary: json(undefined).map((b) => ({ ...b, labels: ['unexpected body', ...b.labels] })) },
    { weight: 4, arbitrary: invalid },
    { weight: 2, arbitrary: encoded },
    { weight: 1, arbitrary: oversize },
  );
}

/** Every part of one request to `op`, generated. */
export function fuzzCase(op: Operation, ctx: FuzzContext, bodyLimitBytes: number): fc.Arbitrary<FuzzCase> {
  const names = pathParams(op);
  const path = fc.tuple(...names.map((n) => pathValue(op, n, ctx)));
  return fc
    .record({
      path: names.length ? path : fc.constant([] as Array<{ value: string; label: string }>),
      query: queryPairs(op, ctx),
      rawQueryPick: fc.integer({ min: 0, max: 9 }),
      auth: authHeaders(op, ctx),
      body: bodyPart(op, ctx, bodyLimitBytes),
      extra: extraHeaders,
    })
    .map(({ path: values, query, rawQueryPick, auth, body, extra }) => {
      const filled = fillPath(op, Object.fromEntries(names.map((n, i) => [n, values[i].value])));
      const raw = rawQueryPick === 0;
      const qs = queryString(query, raw);
      const headers: Headers = [...auth.headers, ...extra];
      if (body.text !== undefined && body.contentType !== undefined) headers.push(['Content-Type', body.contentType]);
      if (body.encoding) headers.push(['Content-Encoding', body.encoding]);
      const url = qs ? `${filled}?${qs}` : filled;
      const allNames = new Set<string>([
        ...op.params.map((p) => p.name),
        ...schemaNames(op.body),
        ...body.keys,
        ...query.map(([k]) => k),
        'body',
      ]);
      return {
        op,
        req: { method: op.method, url, headers, body: body.text },
        names: [...allNames],
        labels: [
          auth.label,
          ...values.map((v) => v.label),
          ...(query.length
            ? [
                `query ${query
                  .map(([k]) => k)
                  .join(',')
                  .slice(0, 60)}${raw ? ' (raw)' : ''}`,
              ]
            : []),
          ...body.labels,
        ],
      };
    });
}

export function sample<T>(arb: fc.Arbitrary<T>, seed: number, numRuns: number): T[] {
  return fc.sample(arb, { seed, numRuns });
}
