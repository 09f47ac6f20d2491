import { ValidateIf } from 'class-validator';

/**
 * The field may be left out, but not sent as null. class-validator's IsOptional lets null through
 * too, which for a column that cannot be null ends as a database error (a 500) instead of a 400.
 */
export const IsOmittable = () => ValidateIf((_object: object, value: unknown) => value !== undefined);
