// The clinical store: one object holding every repository over one connection, SQLite or PostgreSQL.
import { sql } from 'kysely';
import { openClinicalDatabase, type ClinicalConnection, type ClinicalDatabaseLocation, type SqlDialectName } from './connect.js';
import { migrateClinicalDatabase } from './migrate.js';
import { AlertRepository } from './repositories/alerts.js';
import { AuditLogRepository } from './repositories/audit-log.js';
import { BulkExportRepository } from './repositories/bulk-exports.js';
import { FhirDeliveryRepository, FhirEndpointRepository } from './repositories/fhir-push.js';
import { FhirCgmOrderRepository } from './repositories/fhir-cgm-orders.js';
import { FhirCgmSubmissionRepository } from './repositories/fhir-cgm-submissions.js';
import { CareTeamRepository } from './repositories/care-teams.js';
import { DeadLetterRepository } from './repositories/dead-letters.js';
import { DeviceRepository } from './repositories/devices.js';
import { importEnrollment, type ImportResult } from './repositories/enrollment-import.js';
import { NotificationDeliveryRepository } from './repositories/notification-deliveries.js';
import { PatientRepository } from './repositories/patients.js';
import { ThresholdRepository } from './repositories/thresholds.js';
import { SessionRepository } from './repositories/sessions.js';
import { TimeEntryRepository } from './repositories/time-entries.js';
import { MessageRepository } from './repositories/messages.js';
import { CheckInRepository } from './repositories/check-ins.js';
import { MessageTemplateRepository } from './repositories/message-templates.js';
import { PatientNotificationRepository } from './repositories/patient-notifications.js';
import { UserRepository } from './repositories/users.js';
import { ChangeCounterRepository } from './repositories/change-counters.js';
import { ReadingDayMarkRepository } from './repositories/reading-day-marks.js';
import { ReadingSetAsideRepository } from './repositories/reading-set-asides.js';

export class ClinicalStore {
  readonly careTeams: CareTeamRepository;
  readonly patients: PatientRepository;
  readonly devices: DeviceRepository;
  readonly thresholds: ThresholdRepository;
  readonly alerts: AlertRepository;
  readonly timeEntries: TimeEntryRepository;
  readonly messages: MessageRepository;
  readonly checkIns: CheckInRepository;
  readonly messageTemplates: MessageTemplateRepository;
  readonly patientNotifications: PatientNotificationRepository;
  readonly deadLetters: DeadLetterRepository;
  readonly audit: AuditLogRepository;
  readonly deliveries: NotificationDeliveryRepository;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly bulkExports: BulkExportRepository;
  readonly fhirEndpoints: FhirEndpointRepository;
  readonly fhirDeliveries: FhirDeliveryRepository;
  readonly fhirCgmSubmissions: FhirCgmSubmissionRepository;
  readonly fhirCgmOrders: FhirCgmOrderRepository;
  readonly changeCounters: ChangeCounterRepository;
  readonly readingDayMarks: ReadingDayMarkRepository;
  readonly readingSetAsides: ReadingSetAsideRepository;

  private constructor(private readonly connection: ClinicalConnection) {
    const { db, reader } = connection;
    this.careTeams = new CareTeamRepository(db, connection.dialect);
    this.patients = new PatientRepository(db, connection.dialect);
    this.devices = new DeviceRepository(db, reader);
    this.thresholds = new ThresholdRepository(db);
    this.alerts = new AlertRepository(db, connection.dialect);
    this.timeEntries = new TimeEntryRepository(db);
    this.messages = new MessageRepository(db, connection.dialect);
    this.checkIns = new CheckInRepository(db, connection.dialect);
    this.messageTemplates = new MessageTemplateRepository(db);
    this.patientNotifications = new PatientNotificationRepository(db);
    this.deadLetters = new DeadLetterRepository(db);
    this.audit = new AuditLogRepository(db, connection.walSync);
    this.deliveries = new NotificationDeliveryRepository(db);
    this.users = new UserRepository(db);
    this.sessions = new SessionRepository(db);
    this.bulkExports = new BulkExportRepository(db);
    this.fhirEndpoints = new FhirEndpointRepository(db);
    this.fhirDeliveries = new FhirDeliveryRepository(db);
    this.fhirCgmSubmissions = new FhirCgmSubmissionRepository(db);
    this.fhirCgmOrders = new FhirCgmOrderRepository(db);
    this.changeCounters = new ChangeCounterRepository(db);
    this.readingDayMarks = new ReadingDayMarkRepository(db);
    this.readingSetAsides = new ReadingSetAsideRepository(db, connection.dialect);
  }

  /** Opens the database and brings its schema up to date. */
  static async open(location: ClinicalDatabaseLocation, options: { migrate?: boolean } = {}): Promise<ClinicalStore> {
    const connection = openClinicalDatabase(location);
    try {
      if (options.migrate !== false) await migrateClinicalDatabase(connection);
    } catch (error) {
      await connection.close();
      throw error;
    }
    return new ClinicalStore(connection);
  }

  get dialect(): SqlDialectName {
    return this.connection.dialect;
  }

  /**
   * Patients, devices and assignments from a CSV file, in one transaction; refuses the whole file
   * (ImportRefused, every problem with its line and field) if any row is wrong.
   */
  async importEnrollment(csv: string, by: string): Promise<ImportResult> {
    const result = await importEnrollment(this.connection.db, csv, by);
    this.devices.announceChanged(result.devices.map((device) => device.id));
    return result;
  }

  /** A cheap round trip, for readiness checks. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.connection.db);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
