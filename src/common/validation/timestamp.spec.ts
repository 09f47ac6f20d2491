import { isTimestamp } from './timestamp';

describe('isTimestamp', () => {
  it.each([
    '2026-11-28T09:30:00Z',
    '2026-11-28T09:30Z',
    '2026-11-28T09:30:00.123456+03:00',
    '2024-02-29T00:00:00Z',
    '1970-01-01T00:00:00Z',
  ])('accepts %s', (v) => expect(isTimestamp(v)).toBe(true));

  it.each([
    '2026-02-31T10:00:00Z',
    '2025-02-29T10:00:00Z',
    '2026-13-01T10:00:00Z',
    '2026-11-28T24:00:00Z',
    '2026-11-28T10:60:00Z',
    '0000-01-01T00:00:00Z',
    '2026-11-28T10:00:00',
    '2026-11-28',
    '2026-11-28T10:00:00+25:00',
    'tomorrow',
  ])('refuses %s', (v) => expect(isTimestamp(v)).toBe(false));
});
