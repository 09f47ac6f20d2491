import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { getMetadataStorage, IsInt, IsOptional, IsString, Max, Min, MinLength, registerDecorator } from 'class-validator';

/**
 * Decorators for the Env class: each states a variable's rule once, with a message that says what
 * the variable must be (the boot error puts the variable's name and value in front of it).
 */

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value);

const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  return value;
};

const UNITS = { days: ['days', 'days'], seconds: ['seconds', 'seconds'], ms: ['milliseconds', 'ms'] } as const;
export type IntUnit = keyof typeof UNITS;

export interface EnvIntNotes {
  /** What the minimum means, e.g. 'off' for a poll interval of 0. */
  readonly min?: string;
  /** Why the range is what it is. */
  readonly why?: string;
}

/**
 * An integer variable in [min, max] (max Infinity: no upper bound), e.g. `@EnvInt(1, 3650, 'days')`:
 * "must be an integer number of days", "must be between 1 and 3650 days".
 */
export function EnvInt(min: number, max: number, unit?: IntUnit, notes: EnvIntNotes = {}): PropertyDecorator {
  const [long, short] = unit ? UNITS[unit] : ['', ''];
  const low = notes.min ? `${min} (${notes.min})` : `${min}`;
  const range = max === Infinity ? `must be ${low} or more` : `must be between ${low} and ${max}`;
  const message = `${range}${short ? ` ${short}` : ''}${notes.why ? ` (${notes.why})` : ''}`;
  const bounds = max === Infinity ? [Min(min, { message })] : [Min(min, { message }), Max(max, { message })];
  // IsInt goes last: the boot error reports the last constraint a value breaks, and "not an integer"
  // says more than "out of range" about a value such as "abc".
  const isInt = IsInt({ message: long ? `must be an integer number of ${long}` : 'must be an integer' });
  return applyDecorators(Transform(toInt), ...bounds, isInt);
}

/** true or false, also written 1/0 or yes/no (any case). */
export function EnvBool(): PropertyDecorator {
  const isBoolean = (object: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isBooleanValue',
      target: object.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => typeof value === 'boolean',
        defaultMessage: () => 'must be true or false',
      },
    });
  return applyDecorators(Transform(toBool), isBoolean);
}

/**
 * The variables a class declares: every property with a default or a validation decorator. A field
 * without a default exists on an instance only when the compiler defines class fields
 * (useDefineForClassFields), so optional variables are found through their decorators.
 */
export function declaredVariables(cls: new () => object): string[] {
  const decorated = getMetadataStorage()
    .getTargetValidationMetadatas(cls, '', false, false)
    .map((metadata) => metadata.propertyName);
  return [...new Set([...Object.keys(new cls()), ...decorated])];
}

const SECRETS = new WeakMap<object, Set<string>>();

/** A variable whose value is never echoed, not even in a boot error (keys, URLs that carry credentials). */
export function EnvSecret(): PropertyDecorator {
  return (target, property) => {
    const names = SECRETS.get(target) ?? new Set<string>();
    names.add(String(property));
    SECRETS.set(target, names);
  };
}

/** Whether `instance`'s class, or a class it extends, declares `name` with @EnvSecret. */
export function isSecretVariable(instance: object | undefined, name: string): boolean {
  for (let proto = instance && Object.getPrototypeOf(instance); proto; proto = Object.getPrototypeOf(proto)) {
    if (SECRETS.get(proto)?.has(name)) return true;
  }
  return false;
}

/** An optional API key or token: secret, and at least 16 characters. */
export function EnvKey(): PropertyDecorator {
  return applyDecorators(EnvSecret(), IsOptional(), IsString(), MinLength(16, { message: 'must be at least 16 characters' }));
}
