import type { CronSchedule } from '../common/cron';
import type { RunTrigger } from './job-run.entity';

/** Most runs one non-coalescing job starts for fires missed at once; older ones count as missed. */
export const MAX_CATCH_UP_RUNS = 100;
/** Fires looked at per job per plan (a 1-second cron after a long outage); beyond, the rest are not looked at. */
export const FIRE_SCAN_LIMIT = 1_000_000;
const SCAN_CHUNK = 1000;

/** The job options that decide what happens to fires that are late. APScheduler's meanings. */
export interface FireOptions {
  coalesce: boolean;
  /** How late a fire may start; null: any time. */
  misfireGraceSeconds: number | null;
}

export interface PlannedFire {
  at: Date;
  trigger: RunTrigger;
  /** Earlier fires this one stands for (coalesce), written into the run's summary. */
  coalescedFires?: number;
}

export interface MissedFires {
  /** Fires that will not run. */
  count: number;
  first: Date;
  latest: Date;
  trigger: RunTrigger;
}

export interface FirePlan {
  /** The fires to claim, oldest first. */
  due: PlannedFire[];
  /** Fires later than the grace, or dropped past MAX_CATCH_UP_RUNS: recorded as one skipped row. */
  missed?: MissedFires;
  /** The first fire after `now`: what to wait for once `due` is claimed. */
  nextFire: Date | null;
}

/** A fire started at `now` is within the job's misfire grace. */
export function withinGrace(options: Pick<FireOptions, 'misfireGraceSeconds'>, at: Date, now: Date): boolean {
  return options.misfireGraceSeconds === null || now.getTime() - at.getTime() <= options.misfireGraceSeconds * 1000;
}

/** Fires from before this replica started were missed while it was down: they run as catch-ups. */
export function triggerFor(at: Date, bootAt: Date): RunTrigger {
  return at < bootAt ? 'catch-up' : 'scheduled';
}

/**
 * Every fire of `schedule` in (after, now], sorted into what runs and what is missed. Pure: the
 * engine does the claiming. A coalescing job runs only the latest fire (the others are folded into
 * it); a non-coalescing one runs up to MAX_CATCH_UP_RUNS of the latest; fires later than the grace
 * never run. Either way nothing is dropped silently: the rest is counted in `missed`.
 */
export function planFires(schedule: CronSchedule, options: FireOptions, window: { after: Date; now: Date; bootAt: Date }): FirePlan {
  const { now, bootAt } = window;
  const keep = options.coalesce ? 1 : MAX_CATCH_UP_RUNS;
  const due: Date[] = [];
  let coalesced = 0;
  let missed: Omit<MissedFires, 'trigger'> | undefined;
  const miss = (at: Date) => {
    if (!missed) missed = { count: 0, first: at, latest: at };
    missed.count += 1;
    if (at > missed.latest) missed.latest = at;
  };
  let cursor = window.after;
  for (let scanned = 0; scanned < FIRE_SCAN_LIMIT;) {
    const chunk = schedule.between(cursor, now, SCAN_CHUNK);
    scanned += chunk.length;
    for (const at of chunk) {
      if (!withinGrace(options, at, now)) {
        miss(at);
        continue;
      }
      due.push(at);
      if (due.length > keep) {
        const dropped = due.shift()!;
        if (options.coalesce) coalesced += 1;
        else miss(dropped);
      }
    }
    if (chunk.length < SCAN_CHUNK) break;
    cursor = chunk[chunk.length - 1];
  }
  return {
    due: due.map((at, i) => ({
      at,
      trigger: triggerFor(at, bootAt),
      ...(coalesced > 0 && i === due.length - 1 ? { coalescedFires: coalesced } : {}),
    })),
    missed: missed && { ...missed, trigger: triggerFor(missed.latest, bootAt) },
    nextFire: schedule.next(now),
  };
}
