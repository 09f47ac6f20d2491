import { DatabaseKind } from '../database/data-source';
import { SqlParams } from '../database/sql';
import type { NoticeFrequency } from '../records/guardian.entity';

export interface Query {
  sql: string;
  params: unknown[];
}

/** Per retention class (days): a created_at bound, or none (nothing of that class qualifies). */
export type ClassBounds = Map<number, Date | undefined>;

/** What the reads of one notice run share. */
export interface DigestScope {
  kind: DatabaseKind;
  /** The service retention; the shorter ones guardians chose are classes of their own. */
  retentionDays: number;
  shorter: number[];
  /** The run's start: messages received after it are left to the next run. */
  receivedUntil: Date;
}

/** A guardian who must be told now, with what their notice's dates depend on. */
export interface DueGuardianRow {
  id: string;
  timeZone: string | null;
  retentionDays: number | string;
}

/**
 * One child's untold messages, per bucket of created_at, late or not: [late (0|1), messages, conversations,
 * first created_at]. The first is SQLite's stored text, or on PostgreSQL epoch milliseconds (a number
 * keeping its microseconds as a fraction).
 */
export type DigestBucket = [number | string, number | string, number | string, string | number];

/** The first created_at of a bucket, in whole milliseconds rounded up: never before the record's own time. */
export function bucketFirst(first: string | number): number {
  return typeof first === 'number' ? Math.ceil(first) : new Date(`${first.replace(' ', 'T')}Z`).getTime();
}

/** One child's untold messages, with what their guardian's notice needs. */
export interface DigestRow {
  childId: string;
  childName: string;
  guardianId: string;
  locale: string;
  enabled: boolean | number;
  timeZone: string | null;
  retentionDays: number | string;
  frequency: NoticeFrequency;
  revision: number | string | null;
  createdUntil: Date | string | null;
  /** JSON text on SQLite, parsed already on PostgreSQL. */
  buckets: string | DigestBucket[];
}

const JOINS = `FROM message m
  JOIN conversation c ON c.id = m.conversation_id
  JOIN child ch ON ch.id = c.child_id
  JOIN guardian g ON g.id = ch.guardian_id
  LEFT JOIN notice_coverage nc ON nc.guardian_id = g.id`;

/** A timestamp parameter, typed on PostgreSQL (in a CASE branch it would otherwise be text). */
function ts(s: DigestScope, p: SqlParams, at: Date | null): string {
  return s.kind === 'postgres' ? `${p.add(at)}::timestamptz` : p.add(at);
}

/** A guardian's retention class: their shorter retention, or the service's (a longer one is never kept). Literals: they are integers. */
function retentionClass(s: DigestScope, g = 'g'): string {
  if (s.shorter.length === 0) return String(s.retentionDays);
  return `CASE WHEN ${g}.retention_days IN (${s.shorter.map((d) => Math.trunc(d)).join(', ')}) THEN ${g}.retention_days ELSE ${Math.trunc(s.retentionDays)} END`;
}

/** The bound of the row's guardian's class, as one SQL expression (NULL where a class has none: the comparison fails). */
function classBound(s: DigestScope, p: SqlParams, bounds: ClassBounds): string {
  const cases = [...bounds].map(([days, at]) => `WHEN ${Math.trunc(days)} THEN ${ts(s, p, at ?? null)}`);
  return `CASE ${retentionClass(s)} ${cases.join(' ')} END`;
}

/**
 * "Message m has not been told": neither was it there when the guardian's last notice was made (received
 * at or before received_until) with a created_at it covered (at or before created_until), nor is it newer
 * than this run (received after receivedUntil, the run's start). NULL received_at: stored before the
 * service recorded it, so there before any digest.
 */
function untold(s: DigestScope, p: SqlParams): string {
  return `(m.received_at IS NULL OR m.received_at <= ${ts(s, p, s.receivedUntil)})
   AND (nc.guardian_id IS NULL OR m.created_at > nc.created_until OR m.received_at > nc.received_until)`;
}

const isLate = `nc.guardian_id IS NOT NULL AND m.created_at <= nc.created_until`;

/**
 * The guardians with something untold that is deleted before `mustBefore` (per class: created at or
 * before its bound): the notice run tells them now. Their zone and class come along, for the dates.
 */
export function dueGuardians(s: DigestScope, must: ClassBounds): Query {
  const p = new SqlParams(s.kind);
  const defined = [...must.values()].filter((d): d is Date => d !== undefined);
  if (defined.length === 0) return { sql: 'SELECT NULL AS id WHERE 1 = 0', params: [] };
  const max = new Date(Math.max(...defined.map((d) => d.getTime())));
  const sql = `SELECT DISTINCT g.id AS id, g.time_zone AS "timeZone", ${retentionClass(s)} AS "retentionDays"
  ${JOINS}
 WHERE m.created_at <= ${ts(s, p, max)}
   AND m.created_at <= ${classBound(s, p, must)}
   AND ${untold(s, p)}`;
  return { sql, params: p.values };
}

/**
 * What the notices of `guardianIds` announce: per child, per bucket of created_at (split at `bounds`,
 * which separate deletion dates) and late or not, the untold messages up to the guardian's reach (by
 * class and frequency), and every late one (a backdated import into what an earlier notice covered).
 * Counted per child first, then joined to the guardian columns a notice needs, with the coverage
 * revision the notice will move.
 */
export function digestRows(s: DigestScope, guardianIds: string[], reach: Record<NoticeFrequency, ClassBounds>, bounds: Date[]): Query {
  const p = new SqlParams(s.kind);
  const all = [...reach.digest.values(), ...reach.each_run.values()].filter((d): d is Date => d !== undefined);
  const max = all.length ? new Date(Math.max(...all.map((d) => d.getTime()))) : null;
  const sorted = [...new Set(bounds.map((b) => b.getTime()))].sort((a, b) => a - b);
  const bucket = sorted.length
    ? `CASE ${sorted.map((b, i) => `WHEN m.created_at <= ${ts(s, p, new Date(b))} THEN ${i}`).join(' ')} ELSE ${sorted.length} END`
    : '0';
  const ids =
    s.kind === 'postgres'
      ? `g.id = ANY(${p.add(guardianIds)}::uuid[])`
      : `g.id IN (SELECT value FROM json_each(${p.add(JSON.stringify(guardianIds))}))`;
  const lateExpr = `CASE WHEN ${isLate} THEN 1 ELSE 0 END`;
  const counted = `SELECT c.child_id, ${bucket} AS bucket, ${lateExpr} AS late,
         COUNT(*) AS n, COUNT(DISTINCT m.conversation_id) AS conversations, MIN(m.created_at) AS first
  ${JOINS}
 WHERE ${ids}
   AND m.created_at <= ${ts(s, p, max)}
   AND ${untold(s, p)}
   AND ((${isLate}) OR m.created_at <= CASE WHEN g.notice_frequency = 'each_run' THEN ${classBound(s, p, reach.each_run)} ELSE ${classBound(s, p, reach.digest)} END)
 GROUP BY c.child_id, bucket, late`;
  // One row per child, its buckets as a JSON array: the rows cross from the database (on SQLite, from
  // its worker thread) ten times fewer than one per bucket, and that crossing was most of the cost.
  const buckets =
    s.kind === 'postgres'
      ? `json_agg(json_build_array(x.late, x.n, x.conversations, extract(epoch FROM x.first) * 1000))`
      : `json_group_array(json_array(x.late, x.n, x.conversations, x.first))`;
  const sql = `SELECT ch.id AS "childId", ch.display_name AS "childName", g.id AS "guardianId", g.locale AS locale,
       g.notifications_enabled AS enabled, g.time_zone AS "timeZone", ${retentionClass(s)} AS "retentionDays",
       g.notice_frequency AS frequency, nc.revision AS revision, nc.created_until AS "createdUntil", ${buckets} AS buckets
  FROM (${counted}) x
  JOIN child ch ON ch.id = x.child_id
  JOIN guardian g ON g.id = ch.guardian_id
  LEFT JOIN notice_coverage nc ON nc.guardian_id = g.id
 GROUP BY ch.id, g.id, nc.guardian_id`;
  return { sql, params: p.values };
}
