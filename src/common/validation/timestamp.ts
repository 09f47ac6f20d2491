import { registerDecorator, ValidationArguments } from 'class-validator';

// Full ISO-8601 with an explicit offset: a time without one would be read in the server's zone.
const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-](\d{2}):(\d{2}))$/;

/** A real instant: the calendar fields exist (no 31 February, no hour 24) and the year is 1970 or later. */
export function isTimestamp(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const m = ISO_WITH_OFFSET.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((f) => Number(f ?? 0));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[7] === 'Z' || (Number(m[8]) <= 23 && Number(m[9]) <= 59);
  // 1970 or later as an instant, not only in its own offset's fields (1970-01-01T00:30+01:00 is 1969 in UTC).
  if (!(Date.parse(value) >= 0)) return false;
  return (
    year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && offsetOk
  );
}

export const IsTimestamp = () => (object: object, propertyName: string) =>
  registerDecorator({
    name: 'isTimestamp',
    target: object.constructor,
    propertyName,
    validator: {
      validate: isTimestamp,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be an ISO-8601 date-time with an offset, e.g. 2026-11-28T09:30:00Z (a real date, 1970 or later)`,
    },
  });
