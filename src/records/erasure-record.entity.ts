import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Evidence that a family was erased on request: who asked (the key's role), when, and how much went.
 * Counts only; it outlives the guardian it names by id.
 */
@Entity('erasure_record')
export class ErasureRecord {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'guardian_id', type: 'uuid' })
  guardianId: string;

  @Column({ name: 'erased_at' })
  erasedAt: Date;

  @Column({ name: 'erased_by', type: 'varchar', length: 32 })
  erasedBy: string;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  @Column({ type: 'integer' })
  children: number;

  @Column({ type: 'integer' })
  conversations: number;

  @Column({ type: 'integer' })
  messages: number;
}
