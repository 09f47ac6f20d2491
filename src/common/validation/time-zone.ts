import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { isValidTimeZone } from '../cron';

/** An IANA time zone name that this runtime knows (e.g. UTC, Europe/Berlin). */
export const IsTimeZone = (options?: ValidationOptions) => (object: object, propertyName: string) =>
  registerDecorator({
    name: 'isTimeZone',
    target: object.constructor,
    propertyName,
    options,
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isValidTimeZone(value),
      defaultMessage: (args?: ValidationArguments) => `${args?.property} is not a known IANA time zone (e.g. UTC, Europe/Berlin)`,
    },
  });
