import { Matches, registerDecorator, ValidationArguments } from 'class-validator';

/**
 * Text both databases store exactly as given: no U+0000 (PostgreSQL text cannot hold it) and no
 * lone UTF-16 surrogate (neither database can store one; each would replace it differently). Refused
 * as bad input on both databases rather than failing, or silently changing the text, on one.
 */
export const NoNul = () =>
  // The NUL in the class is the point: it is what PostgreSQL cannot store.
  // eslint-disable-next-line no-control-regex
  Matches(/^[^\u0000\p{Cs}]*$/u, {
    message: ({ property }) => `${property} must be valid Unicode text: no NUL (\\u0000) characters and no lone surrogates`,
  });

/**
 * At most `max` characters as the databases count them (Unicode code points). class-validator's
 * MaxLength counts differently (it ignores variation selectors), so a name it passes could overflow
 * a PostgreSQL varchar column.
 */
export const MaxChars = (max: number) => (object: object, propertyName: string) =>
  registerDecorator({
    name: 'maxChars',
    target: object.constructor,
    propertyName,
    constraints: [max],
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || [...value].length <= max,
      defaultMessage: (args?: ValidationArguments) => `${args?.property} must be at most ${max} characters long`,
    },
  });
