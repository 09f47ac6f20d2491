import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('conversation')
export class Conversation {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'child_id', type: 'uuid' })
  childId: string;

  @Column({ name: 'started_at' })
  startedAt: Date;

  @Column({ name: 'created_at' })
  createdAt: Date;
}
