import { applyDecorators, ConflictException } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsUUID } from 'class-validator';
import { IsOmittable } from '../common/validation';
import { isUniqueViolation } from '../database/errors';

/**
 * The optional `id` a client may choose for what it creates, so that it can send the same request
 * again after a timeout. Lower-cased: PostgreSQL's uuid type folds case, SQLite's text does not, and
 * the same id must be the same row on both.
 */
export const ClientId = (what: string) =>
  applyDecorators(
    ApiPropertyOptional({
      format: 'uuid',
      example: '0193a1f2-7c4e-7d2a-9b1c-5e8f2a4d6c10',
      description:
        `Your id for the ${what}, so that a retry cannot store it twice: the same id with the same content answers 200 ` +
        'with what is stored (201 the first time); with different content, 409. Omit it and the service chooses one.',
    }),
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value)),
    IsOmittable(),
    IsUUID('all', { message: 'id must be a UUID' }),
  );

/** Sets 200 on a create that found its object already stored (Nest has set 201 before the handler ran); returns the object. */
export function answerCreated<T>(res: { status(code: number): unknown }, result: Created<T>): T {
  if (!result.created) res.status(200);
  return result.value;
}

/** The retry contract, for the description of every create route. */
export const RETRY_SAFE = 'Send your own `id` to make a retry safe: the same id and content answer 200 with what is stored.';

/** What a create answers: the object, and whether this request stored it (201) or found it stored (200). */
export interface Created<T> {
  value: T;
  created: boolean;
}

const same = (a: unknown, b: unknown) => (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b);

/**
 * The fields of a repeated create that differ from the stored object. Only the fields the request
 * sent count: one it left out took a default or the server's clock the first time, and the retry of
 * the same request leaves it out again.
 */
export function differingFields<T extends object>(sent: Partial<T>, stored: T): string[] {
  return (Object.keys(sent) as (keyof T)[]).filter((k) => sent[k] !== undefined && !same(sent[k], stored[k])).map(String);
}

/** The 409 text for a client id stored with other content. */
export const conflictText = (what: string, id: string, differs: string[]) =>
  `${what} ${id} is already stored with a different ${differs.join(', ')}; a retry must send the same content`;

/** The answer to a create whose client id is already stored: the stored object (200), or a 409 naming what differs. */
export function replay<T extends object>(what: string, id: string, sent: Partial<T>, stored: T): Created<T> {
  const differs = differingFields(sent, stored);
  if (differs.length > 0) throw new ConflictException(conflictText(what, id, differs));
  return { value: stored, created: false };
}

/**
 * Inserts `row`; if its client-chosen id is taken, answers as a retry (replay). The insert is tried
 * first and the lookup made only on a unique violation: a first request costs nothing extra, and two
 * copies of one request sent at once meet at the primary key, which lets one insert through and makes
 * the other wait for its commit, fail, and find the row. Any other unique violation is rethrown.
 */
export async function createOnce<T extends { id: string }>(
  what: string,
  row: T,
  sent: Partial<T>,
  clientId: string | undefined,
  insert: () => Promise<unknown>,
  find: (id: string) => Promise<T | null>,
): Promise<Created<T>> {
  try {
    await insert();
    return { value: row, created: true };
  } catch (error) {
    const stored = clientId !== undefined && isUniqueViolation(error) ? await find(clientId) : null;
    if (!stored) throw error;
    return replay(what, clientId!, sent, stored);
  }
}
