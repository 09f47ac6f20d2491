import { BadRequestException } from '@nestjs/common';
import { decodeCursor, encodeCursor, toPage } from './cursor';

describe('cursor', () => {
  const position = { at: new Date('2026-11-28T09:30:00.123Z'), id: '3f0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a90' };

  it('round-trips a position', () => {
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    '',
    'garbage',
    Buffer.from('[1,2]').toString('base64url'),
    Buffer.from('["not a date","x"]').toString('base64url'),
    // Out of the databases' range: PostgreSQL would fail the query with a 500.
    Buffer.from('["-010000-01-01T00:00:00Z","3f0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a90"]').toString('base64url'),
  ])('refuses %p with a 400 naming the parameter', (bad) => {
    expect(() => decodeCursor(bad)).toThrow(BadRequestException);
    expect(() => decodeCursor(bad)).toThrow('cursor is not a cursor returned by this API');
  });

  it('pages with one extra row to know whether more exist', () => {
    const rows = [1, 2, 3].map((n) => ({ n, at: new Date(n * 1000), id: `00000000-0000-4000-8000-00000000000${n}` }));
    const page = toPage(rows, 2, (r) => ({ at: r.at, id: r.id }));
    expect(page.items.map((r) => r.n)).toEqual([1, 2]);
    expect(decodeCursor(page.nextCursor!)).toEqual({ at: rows[1].at, id: rows[1].id });
    expect(toPage(rows, 3, (r) => ({ at: r.at, id: r.id })).nextCursor).toBeNull();
  });
});
