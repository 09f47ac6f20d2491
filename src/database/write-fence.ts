import { SqlParams } from './sql';

/**
 * What a long run's writes must hold to commit: for a scheduled run, that it still holds its lease.
 * The condition goes into each fenced statement itself, so the check and the write are one atomic
 * statement on both databases: a writer that froze past its lease and woke up cannot slip one more
 * batch in between a check and its write. The signal tells the run to stop between batches.
 */
export interface WriteFence {
  readonly signal: AbortSignal;
  /** SQL that is true while the writer may still write, ANDed into every fenced statement. */
  condition(p: SqlParams): string;
  /** After a fenced statement changed nothing: throws FenceLost if the fence, not the data, stopped it. */
  check(): Promise<void>;
}

/** Why a writer lost the right to write: given up (a lost lease, a shutdown), cancelled, or out of time. */
export type FenceOutcome = 'abandoned' | 'cancelled' | 'timed_out';

/** The writer lost the right to write (its lease was taken away, it was cancelled or timed out, or it is shutting down). */
export class FenceLost extends Error {
  constructor(
    reason: string,
    readonly outcome: FenceOutcome = 'abandoned',
  ) {
    super(reason);
    this.name = 'FenceLost';
  }
}

/** For writes that stand alone (a cleanup run outside the scheduler's ledger). */
export const NO_FENCE: WriteFence = {
  signal: new AbortController().signal,
  condition: () => '1 = 1',
  check: async () => undefined,
};

/** Throws FenceLost if the fence's signal was aborted (a check between batches, before any write). */
export function throwIfFenced(fence: WriteFence): void {
  if (!fence.signal.aborted) return;
  const reason: unknown = fence.signal.reason;
  if (reason instanceof FenceLost) throw reason;
  throw new FenceLost(reason instanceof Error ? reason.message : String(reason));
}
