import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('child')
export class Child {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'guardian_id', type: 'uuid' })
  guardianId: string;

  @Column({ name: 'display_name', type: 'varchar', length: 100 })
  displayName: string;

  @Column({ name: 'created_at' })
  createdAt: Date;
}
