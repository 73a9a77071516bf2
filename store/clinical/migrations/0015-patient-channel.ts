// The patient channel's second part (issue #26, items 2, 3 and 4). A care team's SMS/e-mail
// gateway (a webhook told only "you have a new message", never what it says) and its outbox, one
// row per notification, retried until delivered. Automated messages: the templates a
// care team edited (the shipped English ones are in code), per template and language, and the
// patient's language. Patient-reported check-ins: a plan per patient (which questionnaire, at which
// local times, on which days), the prompts sent for each scheduled time (the row claims the prompt
// and its reminder once, across processes and restarts), and the answers. `judged_at` is set once
// the rules engine has acted on a response: until then the engine's owner of the patient picks it
// up, so a crash between answer and judgement means judging it again, never an answer unseen.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const patientChannelMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('patient_gateways')
      .addColumn('care_team_id', 'text', (c) => c.primaryKey().references('care_teams.id'))
      .addColumn('url', 'text', (c) => c.notNull())
      // Kept to sign each request (HMAC), as alert webhooks' secrets are; never answered by the API.
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('patient_notifications')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('care_team_id', 'text', (c) => c.notNull())
      .addColumn('patient_id', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('delivered_at', 'text')
      .execute();
    await db.schema.createIndex('patient_notifications_due').on('patient_notifications').columns(['status', 'next_attempt_at']).execute();
    await db.schema.createIndex('patient_notifications_team').on('patient_notifications').columns(['care_team_id', 'created_at']).execute();
    // BCP 47 (`en`, `es`, `pt-BR`); null: the platform's default (English).
    await db.schema.alterTable('patients').addColumn('language', 'text').execute();
    await db.schema
      .createTable('message_templates')
      .addColumn('care_team_id', 'text', (c) => c.notNull().references('care_teams.id'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('language', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_templates_pk', ['care_team_id', 'key', 'language'])
      .execute();
    await db.schema
      .createTable('check_in_plans')
      .addColumn('patient_id', 'text', (c) => c.primaryKey().references('patients.id'))
      .addColumn('questionnaire_id', 'text', (c) => c.notNull())
      // JSON: local times "HH:MM" and days ("mon" … "sun").
      .addColumn('times', 'text', (c) => c.notNull())
      .addColumn('days', 'text', (c) => c.notNull())
      .addColumn('remind_after_minutes', 'integer', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      // Times due before this are never prompted: a new plan does not send yesterday's check-in.
      .addColumn('starts_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('check_in_prompts')
      .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('due_at', 'text', (c) => c.notNull())
      .addColumn('questionnaire_id', 'text', (c) => c.notNull())
      .addColumn('prompted_at', 'text', (c) => c.notNull())
      .addColumn('reminded_at', 'text')
      .addPrimaryKeyConstraint('check_in_prompts_pk', ['patient_id', 'due_at'])
      .execute();
    await db.schema.createIndex('check_in_prompts_unreminded').on('check_in_prompts').columns(['reminded_at', 'due_at']).execute();
    await db.schema
      .createTable('check_in_responses')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('care_team_id', 'text', (c) => c.notNull())
      .addColumn('questionnaire_id', 'text', (c) => c.notNull())
      .addColumn('questionnaire_version', 'text', (c) => c.notNull())
      // The scheduled time it answers; null for a check-in the patient sent unprompted.
      .addColumn('due_at', 'text')
      // JSON: the answers as given ({linkId: code or text}) and as the rules see them (scores, codes).
      .addColumn('answers', 'text', (c) => c.notNull())
      .addColumn('scores', 'text', (c) => c.notNull())
      .addColumn('submitted_at', 'text', (c) => c.notNull())
      .addColumn('submitted_by', 'text', (c) => c.notNull())
      .addColumn('submitted_role', 'text', (c) => c.notNull())
      .addColumn('judged_at', 'text')
      .execute();
    // One answer per scheduled time (NULLs, the unprompted ones, are distinct in SQLite and PostgreSQL).
    await db.schema.createIndex('check_in_responses_slot').unique().on('check_in_responses').columns(['patient_id', 'due_at']).execute();
    await db.schema.createIndex('check_in_responses_patient').on('check_in_responses').columns(['patient_id', 'submitted_at']).execute();
    await db.schema.createIndex('check_in_responses_unjudged').on('check_in_responses').columns(['judged_at', 'submitted_at']).execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('check_in_responses').execute();
    await db.schema.dropTable('check_in_prompts').execute();
    await db.schema.dropTable('check_in_plans').execute();
    await db.schema.dropTable('message_templates').execute();
    await db.schema.dropTable('patient_notifications').execute();
    await db.schema.dropTable('patient_gateways').execute();
    await db.schema.alterTable('patients').dropColumn('language').execute();
  },
};
