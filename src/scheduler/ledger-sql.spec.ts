import { JobRun } from './job-run.entity';
import {
  abandonedFires,
  finishRun,
  insertRun,
  lateSummary,
  LedgerTime,
  liveRuns,
  reapExpired,
  renewLeases,
  startQueued,
  Statement,
  takeAway,
  takenAway,
  writeProgress,
} from './ledger-sql';

const now = new Date('2026-11-29T00:00:00.000Z');
const at = (kind: LedgerTime['kind']): LedgerTime => ({ kind, now, leaseSeconds: 60 });
const run: JobRun = {
  id: 'r1',
  jobId: 'daily_data_cleanup',
  task: 'cleanup',
  scheduledFor: now,
  fireKey: now.toISOString(),
  attempt: 1,
  trigger: 'scheduled',
  triggeredBy: 'scheduler',
  status: 'running',
  owner: 'replica-a',
  startedAt: now,
  heartbeatAt: now,
  leaseUntil: null,
  finishedAt: null,
  durationMs: null,
  summary: { deleted: 3 },
  error: null,
  progress: { done: 2, total: 10, unit: 'messages' },
  deadlineAt: new Date(now.getTime() + 60_000),
};

const statements = (kind: LedgerTime['kind']): Record<string, Statement> => ({
  insertLeased: insertRun(at(kind), run, true),
  insertSkipped: insertRun(at(kind), { ...run, status: 'skipped' }, false),
  liveRuns: liveRuns(at(kind), run.jobId),
  finishRun: finishRun(at(kind), { ...run, status: 'succeeded', finishedAt: now, durationMs: 5 }),
  renewLeases: renewLeases(at(kind), 'replica-a', ['r1', 'r2']),
  reapExpired: reapExpired(at(kind), ['r3']),
  reapNothingInFlight: reapExpired(at(kind), []),
  takeAway: takeAway(at(kind), ['r1', 'r2'], 'cancelled', 'cancelled by operator'),
  takenAway: takenAway(kind, ['r1', 'r2']),
  lateSummary: lateSummary(kind, 'r1', { deleted: 2 }, { done: 2, unit: 'messages' }),
  writeProgress: writeProgress(kind, 'r1', { done: 1, unit: 'messages' }),
  startQueued: startQueued(at(kind), 'r1', 'replica-a', null),
  abandonedFires: abandonedFires(kind, now, 3),
});

describe('run ledger statements', () => {
  it('bind one SQLite parameter per placeholder, lease times from the app clock', () => {
    for (const [name, { sql, params }] of Object.entries(statements('sqlite'))) {
      expect([name, sql.split('?').length - 1]).toEqual([name, params.length]);
      expect(sql).not.toContain('clock_timestamp');
    }
    const { params } = renewLeases(at('sqlite'), 'replica-a', ['r1']);
    expect(params).toEqual(['2026-11-29 00:00:00.000', '2026-11-29 00:01:00.000', 'replica-a', 'r1']);
  });

  it('number PostgreSQL parameters in order and take lease times from the database clock', () => {
    for (const [name, { sql, params }] of Object.entries(statements('postgres'))) {
      const numbers = [...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
      expect([name, numbers]).toEqual([name, params.map((_, i) => i + 1)]);
    }
    const { sql, params } = renewLeases(at('postgres'), 'replica-a', ['r1']);
    expect(sql).toContain("heartbeat_at = clock_timestamp(), lease_until = clock_timestamp() + $1::int * interval '1 second'");
    expect(params).toEqual([60, 'replica-a', 'r1']);
  });

  it('keeps the runs still in flight here out of the reaping, on both databases', () => {
    const postgres = reapExpired(at('postgres'), ['r3', 'r4']);
    expect(postgres.sql).toContain('lease_until < clock_timestamp() AND id NOT IN ($4, $5)');
    expect(postgres.params).toEqual([now, now, now, 'r3', 'r4']);
    // Positional: the ids must come after the times that precede them in the text.
    const sqlite = reapExpired(at('sqlite'), ['r3', 'r4']);
    expect(sqlite.sql).toContain('finished_at = ?, lease_until = NULL');
    expect(sqlite.sql).toContain('lease_until < ? AND id NOT IN (?, ?)');
    expect(sqlite.params).toEqual([...Array(4).fill('2026-11-29 00:00:00.000'), 'r3', 'r4']);
    expect(reapExpired(at('postgres'), []).sql).not.toContain('NOT IN');
  });
});
