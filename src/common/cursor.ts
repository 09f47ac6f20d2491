import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { BadRequestException } from '@nestjs/common';

/** A keyset position: the sort time and the id that breaks ties. Opaque to clients. */
export interface CursorPosition {
  at: Date;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.at.toISOString(), position.id])).toString('base64url');
}

export function decodeCursor(cursor: string, field = 'cursor'): CursorPosition {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const date = new Date(String(at));
    const year = date.getUTCFullYear();
    if (
      typeof at !== 'string' ||
      typeof id !== 'string' ||
      Number.isNaN(year) ||
      year < 1970 ||
      year > 9999 ||
      !/^[0-9a-f-]{36}$/i.test(id)
    ) {
      throw new Error('shape');
    }
    return { at: date, id };
  } catch {
    throw new BadRequestException(`${field} is not a cursor returned by this API`);
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Builds a page from limit+1 fetched rows: the extra row only says whether another page exists. */
export function toPage<T>(rows: T[], limit: number, position: (row: T) => CursorPosition): Page<T> {
  const items = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? encodeCursor(position(items[items.length - 1])) : null;
  return { items, nextCursor };
}

/**
 * One keyset page of a query: ordered by (time column, id) in `order`, resuming after `cursor`,
 * fetching one extra row to know whether another page exists.
 */
export async function keysetPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  keys: { at: string; id: string; order: 'ASC' | 'DESC' },
  limit: number,
  cursor: string | undefined,
  position: (row: T) => CursorPosition,
): Promise<Page<T>> {
  const after = cursor ? decodeCursor(cursor) : undefined;
  const cmp = keys.order === 'ASC' ? '>' : '<';
  qb.orderBy(keys.at, keys.order)
    .addOrderBy(keys.id, keys.order)
    .limit(limit + 1);
  if (after)
    qb.andWhere(`(${keys.at} ${cmp} :cursorAt OR (${keys.at} = :cursorAt AND ${keys.id} ${cmp} :cursorId))`, {
      cursorAt: after.at,
      cursorId: after.id,
    });
  return toPage(await qb.getMany(), limit, position);
}
