// Every channel (SSE, MQTT, webhooks, the API) tells the same story of an alert: the alert carries
// its latest event, id and name, so a nurse app on MQTT and a webhook receiver can say which change
// they saw and resume from it, as an SSE client does with Last-Event-ID (issue #23 item 4).
import { sql, type Kysely, type Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const alertLastEventMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('alerts').addColumn('last_event_id', 'bigint').execute();
    await db.schema.alterTable('alerts').addColumn('last_event', 'text').execute();
    // Alerts from before: their newest event, named as alertEventName names it.
    await sql`
      update alerts set
        last_event_id = (select max(e.id) from alert_events e where e.alert_id = alerts.id),
        last_event = (
          select case
            when e.type = 'opened' and e.to_status = 'awaiting_confirmation' then 'awaiting_confirmation'
            when e.type = 'reading' then 'updated'
            when e.type = 'condition_cleared' then 'resolved'
            else e.type end
          from alert_events e where e.alert_id = alerts.id order by e.id desc limit 1)
    `.execute(db);
  },
  async down(db: AnyDb) {
    await db.schema.alterTable('alerts').dropColumn('last_event').execute();
    await db.schema.alterTable('alerts').dropColumn('last_event_id').execute();
  },
};
