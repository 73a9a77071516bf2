// Secure messages between a patient and the care team (issue #26, item 1): one thread per patient.
// A message keeps who sent it and from which side, when it was sent, when the other side's app or
// page first fetched it (delivered) and when someone on that side read it.
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../connect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export function messagesMigration(dialect: SqlDialectName): Migration {
  return {
  async up(db: AnyDb) {
    await db.schema
      .createTable('messages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
      // The team the patient belonged to when it was sent (a record; who sees it follows the patient).
      .addColumn('care_team_id', 'text', (c) => c.notNull())
      .addColumn('sender_id', 'text', (c) => c.notNull())
      .addColumn('sender_role', 'text', (c) => c.notNull())
      // 1 when the patient wrote it, 0 when someone of the care team did.
      .addColumn('from_patient', 'integer', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'text', (c) => c.notNull())
      .addColumn('delivered_at', 'text')
      .addColumn('read_at', 'text')
      .addColumn('read_by', 'text')
      .execute();
    // A thread newest first, paged by (sent_at, id).
    await db.schema.createIndex('messages_thread').on('messages').columns(['patient_id', 'sent_at', 'id']).execute();
    // The unread threads: the patients' messages nobody of the team has read.
    await db.schema.createIndex('messages_unread').on('messages').columns(['from_patient', 'read_at', 'patient_id']).execute();
    // A message's image (JPEG or PNG, its metadata taken out), kept with the clinical data.
    await db.schema
      .createTable('message_images')
      .addColumn('message_id', 'text', (c) => c.primaryKey().references('messages.id'))
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('bytes', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
      .execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('message_images').execute();
    await db.schema.dropTable('messages').execute();
  },
  };
}
