/** Validators that every module uses: one per concept. */
export { cronProblem, IsCron } from './cron';
export { IsOmittable } from './omittable';
export { MaxChars, NoNul } from './text';
export { IsTimeZone } from './time-zone';
export { isTimestamp, IsTimestamp } from './timestamp';
