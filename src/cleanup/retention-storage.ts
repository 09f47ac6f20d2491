import { Injectable, Logger, Provider } from '@nestjs/common';
import { Database } from '../database/database.service';
import { SqlParams } from '../database/sql';
import { WriteFence } from '../database/write-fence';
import { DroppedPartition, MessagePartitions } from '../partitions/message-partitions';
import { BatchDeleter, BatchDone, DueMessages } from './batch-deleter.service';
import { heldForNotice, RetentionPlan } from './retention';

/** One unit of deletion done: a batch of rows, or a whole day's partition (which is not a batch). */
export type Deleted = BatchDone | (DroppedPartition & { table: 'partition' });

/**
 * How expired data leaves this database. The cleanup asks one of two strategies, chosen by the
 * database (RETENTION_STORAGE): the semantics (the cutoff, the plan's segments, conversations left
 * empty, the fence) are the same; only how the rows go differs.
 */
export interface RetentionStorage {
  /** The messages a run under the plan deletes, counted before it starts (a progress total). */
  survey(plan: RetentionPlan): Promise<DueMessages>;
  /** Deletes what the plan makes due; `onDeleted` after each committed unit. */
  deleteDue(plan: RetentionPlan, onDeleted: (done: Deleted) => Promise<void>, fence: WriteFence, due?: DueMessages): Promise<void>;
}

export const RETENTION_STORAGE = Symbol('RetentionStorage');

/** SQLite: one table, rows deleted in batches (BatchDeleter). */
@Injectable()
export class RowRetention implements RetentionStorage {
  constructor(private readonly deleter: BatchDeleter) {}

  survey(plan: RetentionPlan): Promise<DueMessages> {
    return this.deleter.survey(plan);
  }

  deleteDue(plan: RetentionPlan, onDeleted: (done: Deleted) => Promise<void>, fence: WriteFence, due?: DueMessages): Promise<void> {
    return this.deleter.deleteDue(plan, onDeleted, fence, due);
  }
}

/**
 * PostgreSQL: a day of messages wholly at or before the cutoff goes as a whole partition
 * (MessagePartitions.dropExpired): no row is deleted, no WAL per row, and the space is returned at
 * once. What is left due is deleted in batches, as on SQLite: the boundary day's rows at or before
 * the cutoff, the shorter retentions' rows in days that are kept, and the conversations left empty.
 */
@Injectable()
export class PartitionRetention implements RetentionStorage {
  private readonly logger = new Logger(PartitionRetention.name);

  constructor(
    private readonly partitions: MessagePartitions,
    private readonly deleter: BatchDeleter,
  ) {}

  survey(plan: RetentionPlan): Promise<DueMessages> {
    return this.deleter.survey(plan);
  }

  async deleteDue(plan: RetentionPlan, onDeleted: (done: Deleted) => Promise<void>, fence: WriteFence, due?: DueMessages): Promise<void> {
    let dropped = 0;
    // A day holding a message that waits for its notice is not dropped (checked before its detach; an
    // import into that old day in the moment between the check and the detach would go with it).
    const held = plan.segments[0].heldAfter;
    const keepIf = held && ((p: SqlParams) => heldForNotice(held, p));
    const heldUp = await this.partitions.dropExpired(
      plan.cutoff,
      fence,
      async (partition) => {
        dropped += 1;
        await onDeleted({ table: 'partition', ...partition });
      },
      keepIf,
    );
    if (dropped > 0) this.logger.log(`${dropped} expired partition(s) dropped; deleting the rest in batches`);
    await this.deleter.deleteDue(plan, onDeleted, fence, due);
    // The rest was done; the run still fails, since expired messages are left until the next one.
    if (heldUp.length > 0) {
      const names = heldUp.map((h) => h.name).join(', ');
      throw new Error(
        `${names} could not be detached within PARTITION_DETACH_TIMEOUT_MS, ${heldUp[0].holders}; the next run drops ${heldUp.length === 1 ? 'it' : 'them'}`,
      );
    }
  }
}

/** The strategy for this service's database. */
export const retentionStorageProvider: Provider = {
  provide: RETENTION_STORAGE,
  inject: [Database, RowRetention, PartitionRetention],
  useFactory: (db: Database, rows: RowRetention, partitions: PartitionRetention): RetentionStorage =>
    db.kind === 'postgres' ? partitions : rows,
};
