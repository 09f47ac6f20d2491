import { planConversationDue, planMessageDue, RetentionPlan } from '../cleanup/retention';
import { DatabaseKind } from '../database/data-source';
import { SqlParams } from '../database/sql';

/** One child's share of one cleanup run, with what the notice needs to know about its guardian. */
export interface ExpiringRow {
  childId: string;
  childName: string;
  guardianId: string;
  locale: string;
  notificationsEnabled: boolean | number;
  n: number | string;
}

export interface Query {
  sql: string;
  params: unknown[];
}

/**
 * Counts are taken per child first (narrow rows, one group per child), and only then joined to the
 * child and guardian columns a notice needs: grouping the wide joined rows spilled to disk on
 * PostgreSQL at 100,000 guardians.
 */
const perChild = (counted: string) => `SELECT ch.id AS "childId", ch.display_name AS "childName", g.id AS "guardianId", g.locale AS locale,
       g.notifications_enabled AS "notificationsEnabled", x.n AS n
  FROM (${counted}) x
  JOIN child ch ON ch.id = x.child_id
  JOIN guardian g ON g.id = ch.guardian_id`;

// The predicates are the cleanup's own (src/cleanup/retention.ts): nothing here restates the rules.

const latestCutoff = (plan: RetentionPlan) => new Date(Math.max(...plan.segments.map((s) => s.cutoff.getTime())));
const earliestCutoff = (plan: RetentionPlan) => new Date(Math.min(...plan.segments.map((s) => s.cutoff.getTime())));

/**
 * Messages, per child, that the cleanup run of `plan` deletes and the run before it in the notice
 * window (`previous`) does not: a record belongs to the first run that deletes it. The first run of
 * the window takes everything it deletes, overdue records included.
 *
 * The bounds on created_at repeat what the predicates imply (nothing after the run's latest cutoff
 * is due; everything at or before the previous run's earliest cutoff went with that run) so both
 * databases scan one range of IDX_message_created instead of the whole table.
 */
export function expiringMessages(kind: DatabaseKind, plan: RetentionPlan, previous?: RetentionPlan): Query {
  // Parameters are added in the order their placeholders appear: SQLite's `?` are positional.
  const p = new SqlParams(kind);
  const sql = perChild(`SELECT c.child_id, COUNT(*) AS n
  FROM message m
  JOIN conversation c ON c.id = m.conversation_id
 WHERE m.created_at <= ${p.add(latestCutoff(plan))}${previous ? ` AND m.created_at > ${p.add(earliestCutoff(previous))}` : ''}
   AND (${planMessageDue(plan, p, 'm')})${previous ? ` AND NOT (${planMessageDue(previous, p, 'm')})` : ''}
 GROUP BY c.child_id`);
  return { sql, params: p.values };
}

/** Conversations, per child, that the run of `plan` deletes and the run before it does not. */
export function expiringConversations(kind: DatabaseKind, plan: RetentionPlan, previous?: RetentionPlan): Query {
  const p = new SqlParams(kind);
  const sql = perChild(`SELECT c.child_id, COUNT(*) AS n
  FROM conversation c
 WHERE c.started_at <= ${p.add(latestCutoff(plan))}
   AND (${planConversationDue(plan, p, 'c')})${previous ? ` AND NOT (${planConversationDue(previous, p, 'c')})` : ''}
 GROUP BY c.child_id`);
  return { sql, params: p.values };
}
