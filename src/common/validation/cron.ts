import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { CronSchedule } from '../cron';

/**
 * What is wrong with a cron expression, in a few words, or undefined when it is valid: 5 fields, or 6
 * with a leading seconds field, in the grammar of src/common/cron/fields.ts. That parser, which also
 * computes the fire times, is the only judge.
 */
export function cronProblem(expr: string): string | undefined {
  // Stored in a varchar(200) column: longer is refused here, not by the database.
  if (expr.length > 200) return `must be at most 200 characters long, got ${expr.length}`;
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `must have 5 fields, or 6 with seconds first (e.g. "0 0 * * *"), got ${fields.length}`;
  }
  try {
    CronSchedule.parse(expr, 'UTC');
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

/** A cron expression (see cronProblem); the message names the property and the problem. */
export const IsCron = (options?: ValidationOptions) => (object: object, propertyName: string) =>
  registerDecorator({
    name: 'isCron',
    target: object.constructor,
    propertyName,
    options,
    validator: {
      validate: (value: unknown) => typeof value === 'string' && cronProblem(value) === undefined,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} is not a valid cron expression (${typeof args?.value === 'string' ? cronProblem(args.value) : 'not a string'})`,
    },
  });
