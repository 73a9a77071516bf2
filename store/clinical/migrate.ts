// Applying the clinical migrations (also `rpm migrate`). Kysely's migrator takes a lock, so two
// processes starting at once do not both migrate.
import { Migrator, type Migration, type MigrationResult } from 'kysely';
import { RpmError } from '../../device-profiles/index.js';
import type { ClinicalConnection, SqlDialectName } from './connect.js';
import { initialMigration } from './migrations/0001-initial.js';
import { deadLetterSourceKeyMigration } from './migrations/0002-dead-letter-source-key.js';
import { notificationDeliveriesMigration } from './migrations/0003-notification-deliveries.js';
import { brokerPasswordHashMigration } from './migrations/0004-broker-password-hash.js';
import { peopleMigration } from './migrations/0005-people.js';
import { alertClaimSnoozeMigration } from './migrations/0006-alert-claim-snooze.js';
import { alertLastEventMigration } from './migrations/0007-alert-last-event.js';
import { bulkExportsMigration } from './migrations/0008-bulk-exports.js';
import { fhirPushMigration } from './migrations/0009-fhir-push.js';
import { changeCountersMigration } from './migrations/0010-change-counters.js';
import { messagesMigration } from './migrations/0011-messages.js';
import { vendorDevicesMigration } from './migrations/0012-vendor-devices.js';
import { nightscoutUploadersMigration } from './migrations/0013-nightscout-uploaders.js';
import { timeEntryActivityMigration } from './migrations/0014-time-entry-activity.js';
import { patientChannelMigration } from './migrations/0015-patient-channel.js';
import { readingDayMarksMigration } from './migrations/0016-reading-day-marks.js';
import { fhirCgmSubmissionsMigration } from './migrations/0017-fhir-cgm-submissions.js';
import { fhirCgmOrdersMigration } from './migrations/0018-fhir-cgm-orders.js';
import { fhirCgmSensorReadingsMigration } from './migrations/0019-fhir-cgm-sensor-readings.js';
import { triageBirthDateMigration } from './migrations/0020-triage-birth-date.js';
import { deviceActivityMigration } from './migrations/0021-device-activity.js';
import { careTeamMovesMigration } from './migrations/0022-care-team-moves.js';
import { patientDischargesMigration } from './migrations/0023-patient-discharges.js';
import { patientIdentifiersMigration } from './migrations/0024-patient-identifiers.js';
import { readingSetAsidesMigration } from './migrations/0025-reading-set-asides.js';
import { fhirDeliveryActionsMigration } from './migrations/0026-fhir-delivery-actions.js';
import { readingMovesMigration } from './migrations/0027-reading-moves.js';
import { gatewaySecretOverlapMigration } from './migrations/0028-gateway-secret-overlap.js';
import { deliveriesByTargetMigration } from './migrations/0029-deliveries-by-target.js';
import { STORE_ERRORS } from '../errors.js';

function clinicalMigrations(dialect: SqlDialectName): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(dialect),
    '0002-dead-letter-source-key': deadLetterSourceKeyMigration,
    '0003-notification-deliveries': notificationDeliveriesMigration(dialect),
    '0004-broker-password-hash': brokerPasswordHashMigration,
    '0005-people': peopleMigration,
    '0006-alert-claim-snooze': alertClaimSnoozeMigration,
    '0007-alert-last-event': alertLastEventMigration,
    '0008-bulk-exports': bulkExportsMigration,
    '0009-fhir-push': fhirPushMigration(dialect),
    '0010-change-counters': changeCountersMigration(dialect),
    '0011-messages': messagesMigration(dialect),
    '0012-vendor-devices': vendorDevicesMigration,
    '0013-nightscout-uploaders': nightscoutUploadersMigration,
    '0014-time-entry-activity': timeEntryActivityMigration,
    '0015-patient-channel': patientChannelMigration,
    '0016-reading-day-marks': readingDayMarksMigration,
    '0017-fhir-cgm-submissions': fhirCgmSubmissionsMigration(dialect),
    '0018-fhir-cgm-orders': fhirCgmOrdersMigration,
    '0019-fhir-cgm-sensor-readings': fhirCgmSensorReadingsMigration,
    '0020-triage-birth-date': triageBirthDateMigration(dialect),
    '0021-device-activity': deviceActivityMigration,
    '0022-care-team-moves': careTeamMovesMigration,
    '0023-patient-discharges': patientDischargesMigration,
    '0024-patient-identifiers': patientIdentifiersMigration,
    '0025-reading-set-asides': readingSetAsidesMigration,
    '0026-fhir-delivery-actions': fhirDeliveryActionsMigration,
    '0027-reading-moves': readingMovesMigration,
    '0028-gateway-secret-overlap': gatewaySecretOverlapMigration,
    '0029-deliveries-by-target': deliveriesByTargetMigration,
  };
}

export async function migrateClinicalDatabase(connection: ClinicalConnection): Promise<MigrationResult[]> {
  const migrator = new Migrator({
    db: connection.db,
    provider: { getMigrations: async () => clinicalMigrations(connection.dialect) },
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((result) => result.status === 'Error');
    throw new RpmError(
      STORE_ERRORS.MIGRATION_FAILED,
      `clinical database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return results;
}
