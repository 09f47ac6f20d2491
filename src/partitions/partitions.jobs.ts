import { Injectable } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { Clock } from '../common/clock';
import { JobTask } from '../scheduler/job-task.decorator';
import type { TaskContext, TaskOutcome } from '../scheduler/task-contract';
import { MessagePartitions } from './message-partitions';

/** What a maintenance run did: partitions created, and the last day now covered. */
export interface PartitionMaintenance {
  created: number;
  through: string;
}

/**
 * PostgreSQL only (PartitionsModule registers it there): keeps the message table's daily partitions
 * created PARTITION_PREMAKE_DAYS ahead. A stored job like the others: claimed once across replicas,
 * caught up after downtime, in the run ledger. Days are counted from the clock, not the scheduled
 * time: a catch-up after a week down creates today's partitions and the next ones, not last week's.
 */
@Injectable()
export class PartitionJobs {
  constructor(
    private readonly partitions: MessagePartitions,
    private readonly clock: Clock,
  ) {}

  @Cron('30 * * * *', { name: 'message_partitions', timeZone: 'UTC' })
  @JobTask({
    task: 'partitions',
    title: 'Message Partitions',
    description: 'PostgreSQL: creates the message table daily partitions from yesterday to PARTITION_PREMAKE_DAYS ahead',
  })
  async messagePartitions(_ctx: TaskContext): Promise<TaskOutcome<PartitionMaintenance>> {
    const { created, through } = await this.partitions.ensureAhead(this.clock.now());
    const summary: PartitionMaintenance = { created, through: through.toISOString() };
    return { status: 'succeeded', summary: { ...summary }, result: summary };
  }
}
