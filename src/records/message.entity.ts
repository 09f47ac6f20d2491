import { Column, Entity, PrimaryColumn } from 'typeorm';

export const MESSAGE_ROLES = ['child', 'teddy'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

@Entity('message')
export class Message {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @Column({ type: 'varchar', length: 5 })
  role: MessageRole;

  @Column({ type: 'text' })
  text: string;

  /** When the message was said; the retention clock starts here. May be backdated by imports. */
  @Column({ name: 'created_at' })
  createdAt: Date;
}
