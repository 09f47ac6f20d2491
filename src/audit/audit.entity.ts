import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One change made through the admin API: who (the key's role), what, and the state before and after. */
@Entity('audit_entry')
export class AuditEntry {
  @PrimaryColumn('uuid')
  id: string;

  @Column()
  at: Date;

  @Column({ type: 'varchar', length: 64 })
  actor: string;

  /** e.g. job.create, job.update, job.delete */
  @Column({ type: 'varchar', length: 64 })
  action: string;

  @Column({ type: 'varchar', length: 200 })
  target: string;

  @Column({ type: 'simple-json', nullable: true })
  before: object | null;

  @Column({ type: 'simple-json', nullable: true })
  after: object | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;
}
