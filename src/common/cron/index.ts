/** Cron schedules in a time zone: our own grammar and a DST-correct search. */
export { CronSyntaxError } from './fields';
export { formatInZone } from './format';
export { fireTimesBetween, longestGapHours } from './gaps';
export { CronSchedule } from './schedule';
export { isValidTimeZone, zoneOffsetMs } from './zone';
