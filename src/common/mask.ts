import { EventEmitter } from 'node:events';

// Wide on purpose: any run of non-space characters around an @ (which may come URL-encoded as
// %40), so internationalised addresses (layla@bücher.de) are caught too. Angle brackets, quotes
// and separators end an address, as in SMTP replies ("550 <jane@example.com>: rejected") and URLs.
const EMAIL = /([^\s@<>"'(),;:[\]/?=&#])[^\s@<>"'(),;:[\]/?=&#]*(?:@|%40)([^\s@<>"'(),;:[\]/?=&#]+\.[^\s@<>"'(),;:[\]/?=&#]+)/gu;

/** "jane.doe@example.com" -> "j***@example.com": enough to tell addresses apart in a log, not to use them. */
export function maskEmails(text: string): string {
  return text.replace(EMAIL, '$1***@$2');
}

/** One address, masked whatever its form: the first character, then the part after the last @. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at <= 0 ? '***' : `${[...address][0]}***@${address.slice(at + 1)}`;
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
