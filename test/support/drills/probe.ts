import { STATUS_CODES } from 'node:http';
import type { Response, Test } from 'supertest';
import type { TestApp } from '../app';
import { capturedLog } from '../captured-log';
import type { Method } from './openapi';

/** A request exactly as it goes on the wire (path and query already encoded, or deliberately not). */
export interface WireRequest {
  method: Method;
  /** Path with the query string, e.g. /v1/children/abc/conversations?limit=x */
  url: string;
  headers: Array<[string, string | string[]]>;
  /** Serialized body, sent as is. */
  body?: string;
}

export interface Answer {
  status: number;
  /** What the server logged as an error while answering (the app's own error log lines), if anything. */
  serverError?: string;
  ms: number;
  headers: Record<string, string>;
  text: string;
  body: unknown;
  /** Set when no HTTP answer arrived (timeout, connection reset). */
  failure?: string;
}

/** Generous: a hang detector, not a performance threshold. */
export const HANG_MS = 5_000;

/** Requests sent, status histogram and the slowest request, per drill. */
export class Figures {
  sent = 0;
  readonly statuses = new Map<string, number>();
  slowest = { ms: 0, what: '' };
  totalMs = 0;

  record(req: WireRequest, a: Answer): void {
    this.sent++;
    this.totalMs += a.ms;
    const k = a.failure ? `no-answer(${a.failure})` : String(a.status);
    this.statuses.set(k, (this.statuses.get(k) ?? 0) + 1);
    if (a.ms > this.slowest.ms) this.slowest = { ms: a.ms, what: `${req.method.toUpperCase()} ${req.url.slice(0, 120)} → ${a.status}` };
  }

  histogram(): string {
    return [...this.statuses.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k}:${n}`)
      .join(' ');
  }

  line(label: string): string {
    return `[drill] ${label}: requests=${this.sent} statuses={${this.histogram()}} slowest=${this.slowest.ms}ms (${this.slowest.what})`;
  }
}

export async function send(t: TestApp, req: WireRequest, figures?: Figures): Promise<Answer> {
  const started = performance.now();
  let answer: Answer;
  try {
    const agent = t.http as unknown as Record<Method, (url: string) => Test>;
    let r = agent[req.method](req.url);
    // Repeated headers (an array) go on after the body: superagent reads Content-Type as a string when it serializes.
    for (const [name, value] of req.headers) if (!Array.isArray(value)) r = r.set(name, value);
    // The deadline ends a hung request so the drill reports it instead of hanging itself.
    r = r.timeout({ deadline: HANG_MS * 2 });
    // Keep the raw text whatever the content type, and never let superagent parse or throw on it.
    r = r.buffer(true).parse((res, cb) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => cb(null, data));
    });
    if (req.body !== undefined) r = r.send(req.body);
    for (const [name, value] of req.headers) if (Array.isArray(value)) r = r.set(name, value as unknown as string);
    const res: Response = await r.ok(() => true);
    const text = typeof res.body === 'string' ? res.body : (res.text ?? '');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    answer = {
      status: res.status,
      ms: Math.round(performance.now() - started),
      headers: res.headers as Record<string, string>,
      text,
      body,
    };
  } catch (e) {
    const err = e as { timeout?: number; code?: string; message?: string };
    answer = {
      status: 0,
      ms: Math.round(performance.now() - started),
      headers: {},
      text: '',
      body: undefined,
      failure: err.timeout ? `timeout after ${err.timeout} ms` : (err.code ?? err.message ?? String(e)),
    };
  }
  const logged = ServerErrorLog.take();
  if (logged) answer.serverError = logged;
  figures?.record(req, answer);
  return answer;
}

/**
 * The app's error log lines (pino JSON at level ≥ 50), captured while a drill runs so a 5xx can be
 * reported with its cause. Requests are sent one at a time, so what was logged during a request
 * belongs to it.
 */
export class ServerErrorLog {
  private static lines: string[] = [];
  private static unsubscribe?: () => void;

  static start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = capturedLog().subscribe((source, line) => {
      if (source !== 'app' || !line.startsWith('{"level":')) return;
      try {
        const entry = JSON.parse(line) as { level?: number; err?: { type?: string; message?: string; stack?: string }; msg?: string };
        if ((entry.level ?? 0) < 50) return;
        const frame =
          /\n\s+at ([^\n]+)/
            .exec(entry.err?.stack ?? '')?.[1]
            ?.replace(/\/work\/main\//, '')
            .slice(0, 120) ?? '';
        ServerErrorLog.lines.push(
          entry.err
            ? `${entry.err.type ?? 'Error'}: ${entry.err.message ?? ''}${frame ? ` @ ${frame}` : ''}`
            : (entry.msg ?? line.slice(0, 200)),
        );
      } catch {
        ServerErrorLog.lines.push(line.slice(0, 200));
      }
    });
  }

  static stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.lines = [];
  }

  static take(): string | undefined {
    const out = this.lines.length ? this.lines.join(' | ').slice(0, 400) : undefined;
    this.lines = [];
    return out;
  }
}

/**
 * Reasons that are clear without naming a field: they name the request-level problem
 * (authentication, the body as a whole, the route, a conflict with stored state).
 */
const CLEAR_REASONS: RegExp[] = [
  /\bAPI key\b/,
  /may not call this route \(needs: /,
  /too many failed authentications/,
  /request body is not valid JSON/,
  /request body is larger than the \d+ byte limit/,
  /request body encoding or charset is not supported/,
  /request was aborted/,
  /^Cannot (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \//,
  // A path with a malformed %-escape is refused before routing: the message names the path segment.
  /^path: ".*" is not valid percent-encoding$/,
  /^body must be a JSON object, not an array$/,
  /^body is nested more than \d+ levels deep$/,
  /^the request body could not be read: /,
  /\bnot found\b/,
  /\bdoes not exist\b/,
  /no data, notices or erasures on record/,
  /\balready (registered|exists|running)\b/,
  /\bbuilt in and cannot be deleted\b/,
  /\bchanged meanwhile\b/,
];

const WORD = /[A-Za-z0-9_]/;

/** Whether `message` mentions `name` as a whole word (not "id" inside "valid"). */
export function mentions(message: string, name: string): boolean {
  if (!name) return false;
  for (let i = message.indexOf(name); i >= 0; i = message.indexOf(name, i + 1)) {
    const before = message[i - 1];
    const after = message[i + name.length];
    if ((!before || !WORD.test(before)) && (!after || !WORD.test(after))) return true;
  }
  return false;
}

/** Keys of a JSON value, nested ones included (bounded). */
export function keysOf(value: unknown, into = new Set<string>(), depth = 0): Set<string> {
  if (depth > 6 || into.size > 400 || value === null || typeof value !== 'object') return into;
  if (Array.isArray(value)) {
    value.slice(0, 20).forEach((v, i) => {
      into.add(String(i));
      keysOf(v, into, depth + 1);
    });
    return into;
  }
  for (const [k, v] of Object.entries(value)) {
    into.add(k);
    keysOf(v, into, depth + 1);
  }
  return into;
}

export interface Problem {
  kind: '5xx' | 'hang' | 'no-answer' | 'shape' | 'vague-message' | 'not-data';
  detail: string;
}

/**
 * The rules every answer must keep: never a 5xx, never slower than HANG_MS, and every 4xx in the one
 * error shape { statusCode, error, message, details?, requestId } with a message that names the
 * problem: one of `names` (a field or parameter of the request) or a clear request-level reason.
 */
export function judge(a: Answer, names: Iterable<string>): Problem[] {
  const out: Problem[] = [];
  if (a.failure) return [{ kind: a.failure.startsWith('timeout') ? 'hang' : 'no-answer', detail: a.failure }];
  if (a.ms > HANG_MS) out.push({ kind: 'hang', detail: `answered ${a.status} after ${a.ms} ms` });
  if (a.status >= 500) out.push({ kind: '5xx', detail: `${a.status} — server logged: ${a.serverError ?? '(nothing)'}` });
  if (a.status < 400 || a.status >= 500) return out;

  const shape: string[] = [];
  if (!/^application\/json/.test(a.headers['content-type'] ?? '')) shape.push(`content-type ${a.headers['content-type'] ?? '(none)'}`);
  const b = a.body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b)) {
    shape.push(`body is not a JSON object: ${a.text.slice(0, 120)}`);
  } else {
    if (b.statusCode !== a.status) shape.push(`statusCode ${JSON.stringify(b.statusCode)} ≠ ${a.status}`);
    if (b.error !== STATUS_CODES[a.status]) shape.push(`error ${JSON.stringify(b.error)} ≠ ${JSON.stringify(STATUS_CODES[a.status])}`);
    if (typeof b.message !== 'string' || !b.message.trim()) shape.push(`message ${JSON.stringify(b.message)}`);
    const extra = Object.keys(b).filter((k) => !['statusCode', 'error', 'message', 'details', 'requestId'].includes(k));
    if (extra.length) shape.push(`extra keys ${extra.join(',')}`);
    if (b.details !== undefined && !(Array.isArray(b.details) && b.details.every((d) => typeof d === 'string')))
      shape.push('details is not a list of strings');
    if (typeof b.requestId !== 'string' || !b.requestId) shape.push('no requestId');
    else if (b.requestId !== a.headers['x-request-id']) shape.push(`requestId ${b.requestId} ≠ X-Request-Id ${a.headers['x-request-id']}`);
    if (/\bat \S+ \(|\n\s+at |node_modules|\.(ts|js):\d+/.test(a.text)) shape.push('leaks a stack trace or a source path');
  }
  if (shape.length) out.push({ kind: 'shape', detail: `${a.status}: ${shape.join('; ')}` });

  const message = typeof b?.message === 'string' ? b.message : '';
  if (message.trim()) {
    const named = [...names].some((n) => mentions(message, n)) || CLEAR_REASONS.some((re) => re.test(message));
    if (!named) out.push({ kind: 'vague-message', detail: `${a.status} ${JSON.stringify(message.slice(0, 200))}` });
  }
  return out;
}

/** Problems grouped by what they are, with one example request each. */
export class ProblemLog {
  private readonly seen = new Map<string, { count: number; example: string }>();

  add(route: string, req: WireRequest, a: Answer, problems: Problem[], note = ''): void {
    for (const p of problems) {
      // One entry per route, kind and message pattern: ids, numbers and quoted values vary between examples.
      const pattern = p.detail
        .replace(/"[^"]*"/g, '"…"')
        .replace(/'[^']*'/g, "'…'")
        .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<uuid>')
        .replace(/\d+/g, 'N')
        .slice(0, 90);
      const sig = `${route} | ${p.kind} | ${pattern}`;
      const entry = this.seen.get(sig);
      if (entry) entry.count++;
      else this.seen.set(sig, { count: 1, example: `${p.detail} ← ${describeRequest(req)}${note ? ` [${note}]` : ''}` });
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** One line per kind of problem: "route | kind | pattern ×count: example". */
  lines(): string[] {
    return [...this.seen.entries()].map(([sig, { count, example }]) => `${sig} ×${count}: ${example}`);
  }
}

export function describeRequest(req: WireRequest): string {
  const headers = req.headers.map(([k, v]) => `${k}: ${(Array.isArray(v) ? JSON.stringify(v) : v).slice(0, 60)}`).join(', ');
  const body = req.body === undefined ? '' : ` body(${req.body.length} chars)=${JSON.stringify(req.body.slice(0, 240))}`;
  return `${req.method.toUpperCase()} ${req.url.length > 240 ? `${req.url.slice(0, 240)}…(${req.url.length} chars)` : req.url} {${headers}}${body}`;
}
