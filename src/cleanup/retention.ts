import { DatabaseKind } from '../database/data-source';
import { SqlParams } from '../database/sql';

export const DAY_MS = 86_400_000;

/**
 * Cutoff arithmetic. A record created at t is deleted by the first cleanup run at or after
 * t + retention, so a run at `at` deletes exactly the records with created_at <= at - retention:
 * a record exactly at the cutoff goes (its time is up), one 1 ms younger stays. Days are exact
 * 24-hour periods, so the cutoff does not move with DST in SCHEDULER_TIMEZONE. `at` is the run's
 * scheduled time, not the wall clock: a run that starts late deletes no more than it would have on time.
 */
export function cutoff(at: Date, retentionDays: number): Date {
  return new Date(at.getTime() - retentionDays * DAY_MS);
}

/**
 * One slice of what a run deletes. The default segment covers every record at or before the
 * service-wide cutoff. Each shorter retention chosen by some guardians adds a segment for their
 * records between the default cutoff and theirs. The segments are disjoint, so their counts add up.
 */
export interface Segment {
  retentionDays: number;
  cutoff: Date;
  /** For a shorter-retention segment: only records after this (the default cutoff) belong to it. */
  after?: Date;
  /** Messages received after this that their family has not been told of yet are held back (see heldForNotice). */
  heldAfter?: Date;
}

export interface RetentionPlan {
  at: Date;
  retentionDays: number;
  cutoff: Date;
  segments: Segment[];
}

/**
 * What a cleanup at `at` deletes, given the service retention and the shorter ones guardians chose.
 * With `noticeDaysBefore`, each segment holds back, for up to that many days after it arrived (its
 * retention, if shorter), a message its family's notices have not told yet: see heldForNotice.
 */
export function retentionPlan(at: Date, retentionDays: number, shorterDays: number[], noticeDaysBefore = 0): RetentionPlan {
  const defaultCutoff = cutoff(at, retentionDays);
  const shorter = [...new Set(shorterDays)].filter((d) => d >= 1 && d < retentionDays).sort((a, b) => a - b);
  const hold = (days: number) => (noticeDaysBefore > 0 ? { heldAfter: cutoff(at, Math.min(noticeDaysBefore, days)) } : {});
  return {
    at,
    retentionDays,
    cutoff: defaultCutoff,
    segments: [
      { retentionDays, cutoff: defaultCutoff, ...hold(retentionDays) },
      ...shorter.map((d) => ({ retentionDays: d, cutoff: cutoff(at, d), after: defaultCutoff, ...hold(d) })),
    ],
  };
}

/**
 * "Message m is held back for its notice": it arrived after `heldAfter`, and after the last notice its
 * family got (a backdated import into what that notice covered, or data a shortened retention makes due
 * at once). The next notice run tells it, and the first cleanup after that deletes it; a message is never
 * held longer than NOTICE_DAYS_BEFORE after it arrived (notice runs are at most that far apart), so a
 * notice job that stopped does not keep data forever. A family never told anything has nothing to hold
 * to: what it imports already due goes at once (an import before any notice is the first thing its first
 * notice would tell). NULL received_at: stored before the service recorded arrivals, never held.
 */
export function heldForNotice(heldAfter: Date, p: SqlParams, m = 'm'): string {
  return `${m}.received_at IS NOT NULL AND ${m}.received_at > ${p.add(heldAfter)}
   AND EXISTS (SELECT 1 FROM conversation hc JOIN child hch ON hch.id = hc.child_id JOIN notice_coverage hnc ON hnc.guardian_id = hch.guardian_id
                WHERE hc.id = ${m}.conversation_id AND ${m}.received_at > hnc.received_until)`;
}

const familyOf = (alias: string, p: SqlParams, days: number) =>
  `${alias} IN (SELECT ch.id FROM child ch JOIN guardian g ON g.id = ch.guardian_id WHERE g.retention_days = ${p.add(days)})`;

/** The condition "message m is deleted by this segment". The only definition: preview and run both use it. */
export function messageDue(segment: Segment, p: SqlParams, m = 'm'): string {
  const age = `${m}.created_at <= ${p.add(segment.cutoff)}`;
  const due = segment.after
    ? `${age} AND ${m}.created_at > ${p.add(segment.after)} AND ${m}.conversation_id IN (SELECT c2.id FROM conversation c2 WHERE ${familyOf('c2.child_id', p, segment.retentionDays)})`
    : age;
  return segment.heldAfter ? `${due} AND NOT (${heldForNotice(segment.heldAfter, p, m)})` : due;
}

/**
 * The condition "conversation c is deleted by this run, in this segment's class of guardians":
 * it started at or before the class's cutoff and holds no message younger than that cutoff, i.e.
 * it is empty once the run's message deletes are done. Classes split guardians by retention
 * (the default class is everyone without a shorter one), so each conversation is in exactly one.
 * Testing for younger messages rather than for any message keeps the preview exact, and keeps a
 * conversation alive if a fresh message lands in it while the run is going.
 */
export function conversationDue(plan: RetentionPlan, segment: Segment, p: SqlParams, c = 'c'): string {
  // Parameters are added in the order they appear in the text: SQLite's placeholders are positional.
  const oldInClass = conversationClass(plan, segment, p, c);
  const noYoungMessage = ` AND NOT EXISTS (SELECT 1 FROM message mx WHERE mx.conversation_id = ${c}.id AND mx.created_at > ${p.add(segment.cutoff)})`;
  return `${oldInClass}${noYoungMessage}`;
}

/** The first half of conversationDue: conversation c started at or before the segment's cutoff, in its class of guardians. */
export function conversationClass(plan: RetentionPlan, segment: Segment, p: SqlParams, c = 'c'): string {
  const age = `${c}.started_at <= ${p.add(segment.cutoff)}`;
  if (segment.after) return `${age} AND ${familyOf(`${c}.child_id`, p, segment.retentionDays)}`;
  const shorter = plan.segments.filter((s) => s.after).map((s) => s.retentionDays);
  if (shorter.length === 0) return age;
  return `${age} AND ${c}.child_id NOT IN (SELECT ch.id FROM child ch JOIN guardian g ON g.id = ch.guardian_id WHERE g.retention_days IN (${shorter.map((d) => p.add(d)).join(', ')}))`;
}

/** "Message m is deleted by this run": any of the plan's segments says so. */
export function planMessageDue(plan: RetentionPlan, p: SqlParams, m = 'm'): string {
  return plan.segments.map((s) => `(${messageDue(s, p, m)})`).join(' OR ');
}

/** "Conversation c is deleted by this run": any of the plan's segments says so. */
export function planConversationDue(plan: RetentionPlan, p: SqlParams, c = 'c'): string {
  return plan.segments.map((s) => `(${conversationDue(plan, s, p, c)})`).join(' OR ');
}

/** The shorter retentions guardians chose, each of which gives a run's plan a segment. */
export function shorterRetentionsQuery(kind: DatabaseKind, retentionDays: number): { sql: string; params: unknown[] } {
  const p = new SqlParams(kind);
  const sql = `SELECT DISTINCT retention_days AS d FROM guardian WHERE retention_days IS NOT NULL AND retention_days < ${p.add(retentionDays)}`;
  return { sql, params: p.values };
}
