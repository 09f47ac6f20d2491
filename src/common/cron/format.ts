import { Civil, civilFromDays, DAY } from './calendar';
import { checkedSeconds, zoneData } from './zone';

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;
const civil: Civil = { y: 0, m: 0, d: 0 };

/** ISO-8601 with the zone's offset at that instant, no milliseconds: "2026-03-29T03:30:00+02:00". */
export function formatInZone(at: Date, timeZone: string): string {
  const t = checkedSeconds(at);
  const o = zoneData(timeZone).offsetSec(t);
  const w = t + o;
  const days = Math.floor(w / DAY);
  let sod = w - days * DAY;
  const { y, m, d } = civilFromDays(days, civil);
  const h = Math.floor(sod / 3600);
  sod -= h * 3600;
  const mi = Math.floor(sod / 60);
  const s = sod - mi * 60;
  const abs = Math.abs(o);
  const oh = Math.floor(abs / 3600);
  const om = Math.floor((abs % 3600) / 60);
  const os = abs % 60;
  const offset = `${o < 0 ? '-' : '+'}${pad2(oh)}:${pad2(om)}${os ? `:${pad2(os)}` : ''}`;
  const year = y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : (y < 0 ? '-' : '+') + String(Math.abs(y)).padStart(6, '0');
  return `${year}-${pad2(m)}-${pad2(d)}T${pad2(h)}:${pad2(mi)}:${pad2(s)}${offset}`;
}

/**
 * APScheduler-style trigger text, e.g. "cron[hour='9,18', minute='0']", from the six field texts
 * (second first; a 5-field expression has second '0').
 */
export function describeTrigger(fields: readonly string[], hasSeconds: boolean): string {
  const [second, minute, hour, day, month, dayOfWeek] = fields;
  const shown: [string, string | undefined][] = [
    ['month', month],
    ['day', day],
    ['day_of_week', dayOfWeek],
    ['hour', hour],
    ['minute', minute],
    ['second', hasSeconds && second !== '0' ? second : undefined],
  ];
  const parts = shown.filter(([, text]) => text !== undefined && text !== '*').map(([name, text]) => `${name}='${text}'`);
  // Every field a wildcard: name the finest one rather than print an empty trigger.
  if (parts.length === 0) parts.push(hasSeconds ? "second='*'" : "minute='*'");
  return `cron[${parts.join(', ')}]`;
}
