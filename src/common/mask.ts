import { EventEmitter } from 'node:events';

// The @ may come URL-encoded (%40), as URLSearchParams sends it in a query string.
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(?:@|%40)([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;

/** "jane.doe@example.com" -> "j***@example.com": enough to tell addresses apart in a log, not to use them. */
export function maskEmails(text: string): string {
  return text.replace(EMAIL, '$1***@$2');
}

/** Masks e-mail addresses in every string of a log record, without mutating it. */
export function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskEmails(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  // Not data: passed as they are. A copy would lose prototype getters (the ServerResponse pino-http logs
  // reads res.headersSent, so its statusCode came out null), turn a Date into {}, and walk a socket graph.
  if (value instanceof Error || value instanceof Date || value instanceof EventEmitter || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1);
  return out;
}
