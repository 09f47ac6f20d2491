import { formatInZone, isValidTimeZone, zoneOffsetMs } from '.';
import { iso, sec, transitions } from './oracle';

describe('2026 transitions the cron specs rely on (checked via Intl, not hard-coded blindly)', () => {
  it.each([
    ['Europe/Berlin', ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z']],
    ['America/New_York', ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z']],
    ['Australia/Lord_Howe', ['2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z']],
    ['America/Santiago', ['2026-04-05T03:00:00Z', '2026-09-06T04:00:00Z']],
    ['UTC', []],
    ['Asia/Kolkata', []],
  ])('%s', (zone, expected) => {
    expect(transitions(zone, sec('2026-01-01T00:00:00Z'), sec('2027-01-01T00:00:00Z')).map(iso)).toEqual(expected);
  });
});

describe('formatInZone / zoneOffsetMs / isValidTimeZone', () => {
  it('formats UTC with +00:00 and drops milliseconds', () => {
    expect(formatInZone(new Date('2026-01-02T00:00:00.999Z'), 'UTC')).toBe('2026-01-02T00:00:00+00:00');
  });
  it('uses the offset in force at that instant', () => {
    expect(formatInZone(new Date('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe('2026-03-29T01:59:59+01:00');
    expect(formatInZone(new Date('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T03:00:00+02:00');
    expect(formatInZone(new Date('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00+02:00');
    expect(formatInZone(new Date('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00+01:00');
    expect(formatInZone(new Date('2026-01-01T04:59:00Z'), 'America/New_York')).toBe('2025-12-31T23:59:00-05:00');
    expect(formatInZone(new Date('2026-06-01T00:00:00Z'), 'Asia/Kolkata')).toBe('2026-06-01T05:30:00+05:30');
    expect(formatInZone(new Date('2026-10-03T15:30:00Z'), 'Australia/Lord_Howe')).toBe('2026-10-04T02:30:00+11:00');
  });
  it('zoneOffsetMs', () => {
    expect(zoneOffsetMs(new Date('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(zoneOffsetMs(new Date('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(zoneOffsetMs(new Date('2026-07-01T00:00:00Z'), 'America/New_York')).toBe(-4 * 3_600_000);
    expect(zoneOffsetMs(new Date('2026-07-01T00:00:00Z'), 'Australia/Lord_Howe')).toBe(10.5 * 3_600_000);
    expect(zoneOffsetMs(new Date('2026-07-01T00:00:00Z'), 'UTC')).toBe(0);
  });
  it('isValidTimeZone', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });
  it('knows IANA zones', () => {
    expect(isValidTimeZone('Asia/Riyadh')).toBe(true);
    expect(isValidTimeZone('Asia/Nowhere')).toBe(false);
  });
});
