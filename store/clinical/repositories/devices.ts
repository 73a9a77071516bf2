import { EventEmitter } from 'node:events';
import { sql, type Kysely, type Selectable } from 'kysely';
import { DEVICE_ID_PATTERN, REPORTED_DEVICE_ID, VENDOR_DEVICE_ID_PATTERN, isMeasurementKind } from '../../../device-profiles/index.js';
import { apiSecretDigest, generateDeviceSecret, hashDeviceSecret, mosquittoPasswordHash, nightscoutApiSecret, verifyDeviceSecret } from '../../credentials.js';
import { conflict, found, invalidInput, notFound } from '../../errors.js';
import { nowInstant, toInstant } from '../../time.js';
import type { ClinicalDatabase, DeviceAssignmentTable, DeviceStatusTable, DeviceTable } from '../schema.js';
import { pageSize, toPage, type Page, type PageRequest } from './pagination.js';

export type DeviceKind = string;

export interface Device {
  id: string;
  /** A measurement kind, or `gateway`. */
  kind: DeviceKind;
  model: string | null;
  gatewayId: string | null;
  createdAt: string;
  secretRotatedAt: string;
  retiredAt: string | null;
  /** The cloud the device reports through, and its id there; null for a device that reports itself. */
  vendor: DeviceVendor | null;
  vendorDeviceId: string | null;
}

/** Vendor clouds whose webhooks the platform takes (issue #25). */
export const DEVICE_VENDORS = ['tenovi', 'bodytrace'] as const;
export type DeviceVendor = (typeof DEVICE_VENDORS)[number];

export interface NewDevice {
  id: string;
  kind: DeviceKind;
  model?: string | null;
  gatewayId?: string | null;
  vendor?: DeviceVendor | null;
  vendorDeviceId?: string | null;
}

/** What a device last reported about itself (battery, signal): never a reading, never a billing day. */
export interface DeviceStatus {
  deviceId: string;
  reportedAt: string;
  /** Who reported it (`tenovi`, `bodytrace`). */
  source: string;
  batteryPercent: number | null;
  batteryVoltage: number | null;
  signalRssi: number | null;
  details: Record<string, unknown>;
}

/** When a device last sent a reading the platform accepted (its newest measurement, its newest arrival). */
export interface DeviceActivity {
  deviceId: string;
  lastMeasuredAt: string;
  lastReceivedAt: string;
}

/** What the devices page shows beside a device: whose it is, when it last sent, what it last said of itself. */
export interface DeviceState {
  /** The assignment in force now, else the next one scheduled; with its patient's team (for scoping). */
  assignment: (DeviceAssignment & { careTeamId: string; patientName: string }) | null;
  activity: Omit<DeviceActivity, 'deviceId'> | null;
  status: DeviceStatus | null;
}

const VENDOR_DEVICE_ID = new RegExp(VENDOR_DEVICE_ID_PATTERN);

export interface ProvisionedDevice {
  device: Device;
  /** The MQTT password, returned this once; only its salted hash is stored. */
  secret: string;
}

export interface DeviceAssignment {
  id: number;
  deviceId: string;
  patientId: string;
  assignedFrom: string;
  assignedUntil: string | null;
  assignedBy: string;
}

export const deviceIdPattern = new RegExp(DEVICE_ID_PATTERN);

/** Devices per upsert of their activity: well under SQLite's and PostgreSQL's bound-parameter limits. */
const ACTIVITY_ROWS_PER_STATEMENT = 500;

function toDevice(row: Selectable<DeviceTable>): Device {
  return {
    id: row.id,
    kind: row.kind,
    model: row.model,
    gatewayId: row.gateway_id,
    createdAt: row.created_at,
    secretRotatedAt: row.secret_rotated_at,
    retiredAt: row.retired_at,
    vendor: (row.vendor as DeviceVendor | null) ?? null,
    vendorDeviceId: row.vendor_device_id ?? null,
  };
}

function toStatus(row: Selectable<DeviceStatusTable>): DeviceStatus {
  return {
    deviceId: row.device_id,
    reportedAt: row.reported_at,
    source: row.source,
    batteryPercent: row.battery_percent,
    batteryVoltage: row.battery_voltage,
    signalRssi: row.signal_rssi,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {},
  };
}

function toAssignment(row: Selectable<DeviceAssignmentTable>): DeviceAssignment {
  return {
    id: row.id,
    deviceId: row.device_id,
    patientId: row.patient_id,
    assignedFrom: row.assigned_from,
    assignedUntil: row.assigned_until,
    assignedBy: row.assigned_by,
  };
}

export class DeviceRepository {
  /**
   * Emits `changed` (deviceId) after a device's registration or assignments change, so that caches
   * in this process (ingest's device directory) drop what they hold at once.
   */
  readonly changes = new EventEmitter();

  /**
   * `reader` serves the lookups on the connection path (authenticate, device and assignment reads):
   * on SQLite it is a second, read-only connection, so that a device's CONNECT never queues behind
   * the writes of ingest and rules on the one writer connection (WAL lets it read meanwhile).
   */
  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    private readonly reader: Kysely<ClinicalDatabase> = db,
  ) {}

  private changed(deviceId: string): void {
    this.changes.emit('changed', deviceId);
  }

  /** Devices written outside this repository (a bulk import) changed: caches drop them, rules reconfigure. */
  announceChanged(deviceIds: readonly string[]): void {
    for (const deviceId of deviceIds) this.changed(deviceId);
  }

  /**
   * Provisions a device or gateway and returns its MQTT secret once. Provisioning an existing id
   * again rotates its secret (a lost or leaked secret), keeping its history and assignment.
   */
  async provision(input: NewDevice): Promise<ProvisionedDevice> {
    if (!deviceIdPattern.test(input.id)) {
      throw invalidInput('id', 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-" (it becomes an MQTT topic level)');
    }
    if (input.id === REPORTED_DEVICE_ID) throw invalidInput('id', `"${REPORTED_DEVICE_ID}" names the readings people enter by hand; choose another id`);
    if (input.kind !== 'gateway' && !isMeasurementKind(input.kind)) {
      throw invalidInput('kind', `"${input.kind}" is neither a measurement kind nor "gateway"`);
    }
    const vendor = input.vendor ?? null;
    const vendorDeviceId = input.vendorDeviceId ?? null;
    if (vendor !== null && !(DEVICE_VENDORS as readonly string[]).includes(vendor)) throw invalidInput('vendor', `must be one of ${DEVICE_VENDORS.join(', ')}`);
    if ((vendor === null) !== (vendorDeviceId === null)) throw invalidInput(vendor === null ? 'vendor' : 'vendorDeviceId', 'vendor and vendorDeviceId go together: the cloud the device reports through and its id there');
    if (vendorDeviceId !== null && !VENDOR_DEVICE_ID.test(vendorDeviceId)) throw invalidInput('vendorDeviceId', 'must be 1–128 printable ASCII characters');
    const secret = generateDeviceSecret();
    // A CGM may upload as a Nightscout uploader, which names no device: found by its secret alone.
    const api_secret_digest = input.kind === 'cgm_glucose' ? apiSecretDigest(nightscoutApiSecret(secret)) : null;
    const now = nowInstant();
    await this.db.transaction().execute(async (trx) => {
      if (input.gatewayId) {
        const gateway = await trx.selectFrom('devices').select(['kind', 'retired_at']).where('id', '=', input.gatewayId).executeTakeFirst();
        if (!gateway || gateway.retired_at) throw notFound('gateway', input.gatewayId);
        if (gateway.kind !== 'gateway') throw invalidInput('gatewayId', `${input.gatewayId} is a ${gateway.kind} device, not a gateway`);
        if (input.kind === 'gateway') throw invalidInput('gatewayId', 'a gateway cannot be bound to another gateway');
      }
      if (vendor !== null) {
        const holder = await trx.selectFrom('devices').select(['id']).where('vendor', '=', vendor).where('vendor_device_id', '=', vendorDeviceId).executeTakeFirst();
        if (holder && holder.id !== input.id) throw conflict(`${vendor} device ${vendorDeviceId} is already provisioned as ${holder.id}`, { id: holder.id });
      }
      const existing = await trx.selectFrom('devices').select(['kind']).where('id', '=', input.id).executeTakeFirst();
      if (existing && existing.kind !== input.kind) {
        throw conflict(`device ${input.id} exists as a ${existing.kind}; it cannot be re-provisioned as a ${input.kind}`, { id: input.id });
      }
      if (existing) {
        await trx
          .updateTable('devices')
          .set({
            secret_hash: hashDeviceSecret(secret),
            broker_password_hash: mosquittoPasswordHash(secret),
            secret_rotated_at: now,
            api_secret_digest,
            model: input.model ?? null,
            gateway_id: input.gatewayId ?? null,
            retired_at: null,
            // A secret rotated without naming the vendor keeps the vendor id the device has.
            ...(input.vendor === undefined && input.vendorDeviceId === undefined ? {} : { vendor, vendor_device_id: vendorDeviceId }),
          })
          .where('id', '=', input.id)
          .execute();
      } else {
        await trx
          .insertInto('devices')
          .values({
            id: input.id,
            kind: input.kind,
            model: input.model ?? null,
            gateway_id: input.gatewayId ?? null,
            secret_hash: hashDeviceSecret(secret),
            broker_password_hash: mosquittoPasswordHash(secret),
            secret_rotated_at: now,
            api_secret_digest,
            created_at: now,
            retired_at: null,
            vendor,
            vendor_device_id: vendorDeviceId,
          })
          .execute();
      }
    });
    this.changed(input.id);
    return { device: await this.require(input.id), secret };
  }

  async get(id: string): Promise<Device | undefined> {
    const row = await this.reader.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toDevice(row);
  }

  /** The CGM device whose secret's SHA-1 hex is `apiSecret` (a Nightscout uploader's header), if not retired. */
  async findByApiSecret(apiSecret: string): Promise<Device | undefined> {
    const row = await this.reader.selectFrom('devices').selectAll().where('api_secret_digest', '=', apiSecretDigest(apiSecret)).where('retired_at', 'is', null).executeTakeFirst();
    return row && toDevice(row);
  }

  /** The device a vendor's cloud knows by `vendorDeviceId` (its webhooks name devices that way). */
  async findByVendorId(vendor: DeviceVendor, vendorDeviceId: string): Promise<Device | undefined> {
    const row = await this.reader.selectFrom('devices').selectAll().where('vendor', '=', vendor).where('vendor_device_id', '=', vendorDeviceId).executeTakeFirst();
    return row && toDevice(row);
  }

  /** Keeps what a device reported about itself, unless a later report is kept already (webhooks come out of order). */
  async reportStatus(status: Omit<DeviceStatus, 'details'> & { details?: Record<string, unknown> }): Promise<void> {
    const row = {
      device_id: status.deviceId,
      reported_at: toInstant(status.reportedAt),
      source: status.source,
      battery_percent: status.batteryPercent,
      battery_voltage: status.batteryVoltage,
      signal_rssi: status.signalRssi,
      details: status.details && Object.keys(status.details).length > 0 ? JSON.stringify(status.details) : null,
    };
    const { device_id: _deviceId, ...update } = row;
    await this.db
      .insertInto('device_status')
      .values(row)
      .onConflict((oc) => oc.column('device_id').doUpdateSet(update).where('device_status.reported_at', '<=', row.reported_at))
      .execute();
  }

  /**
   * Moves each device's last activity forward (never back: ingest processes flush in any order, and
   * a replayed old reading must not make a device look silent since then).
   */
  async recordActivity(entries: readonly DeviceActivity[]): Promise<void> {
    for (let start = 0; start < entries.length; start += ACTIVITY_ROWS_PER_STATEMENT) {
      const chunk = entries.slice(start, start + ACTIVITY_ROWS_PER_STATEMENT);
      // Only provisioned devices: one reading of an id nobody provisioned would fail the whole
      // statement on the foreign key, flush after flush, and no device's activity would be kept.
      const known = new Set((await this.db.selectFrom('devices').select('id').where('id', 'in', chunk.map((entry) => entry.deviceId)).execute()).map((row) => row.id));
      const rows = chunk.filter((entry) => known.has(entry.deviceId)).map((entry) => ({
        device_id: entry.deviceId,
        last_measured_at: toInstant(entry.lastMeasuredAt),
        last_received_at: toInstant(entry.lastReceivedAt),
      }));
      if (rows.length === 0) continue;
      await this.db
        .insertInto('device_activity')
        .values(rows)
        .onConflict((oc) =>
          oc.column('device_id').doUpdateSet({
            last_measured_at: sql`CASE WHEN excluded.last_measured_at > device_activity.last_measured_at THEN excluded.last_measured_at ELSE device_activity.last_measured_at END`,
            last_received_at: sql`CASE WHEN excluded.last_received_at > device_activity.last_received_at THEN excluded.last_received_at ELSE device_activity.last_received_at END`,
          }),
        )
        .execute();
    }
  }

  /**
   * The state of each device named (a page of the devices list): three reads for the page, not three
   * per device. A device with none of it is absent from neither: every id named has an entry.
   */
  async statesOf(deviceIds: readonly string[], at: string = nowInstant()): Promise<Map<string, DeviceState>> {
    const states = new Map<string, DeviceState>(deviceIds.map((id) => [id, { assignment: null, activity: null, status: null }]));
    if (deviceIds.length === 0) return states;
    const ids = [...deviceIds];
    const now = toInstant(at, 'at');
    const assignments = await this.reader
      .selectFrom('device_assignments')
      .innerJoin('patients', 'patients.id', 'device_assignments.patient_id')
      .selectAll('device_assignments')
      .select(['patients.care_team_id', 'patients.name'])
      .where('device_assignments.device_id', 'in', ids)
      .where((eb) => eb.or([eb('device_assignments.assigned_until', 'is', null), eb('device_assignments.assigned_until', '>', now)]))
      .orderBy('device_assignments.assigned_from')
      .execute();
    // Oldest first: the first open one is the one in force (or, with none in force, the next).
    for (const row of assignments) {
      const state = states.get(row.device_id)!;
      state.assignment ??= { ...toAssignment(row), careTeamId: row.care_team_id, patientName: row.name };
    }
    for (const row of await this.reader.selectFrom('device_activity').selectAll().where('device_id', 'in', ids).execute()) {
      states.get(row.device_id)!.activity = { lastMeasuredAt: row.last_measured_at, lastReceivedAt: row.last_received_at };
    }
    for (const row of await this.reader.selectFrom('device_status').selectAll().where('device_id', 'in', ids).execute()) {
      states.get(row.device_id)!.status = toStatus(row);
    }
    return states;
  }

  /** The device's latest reported status, if it ever sent one. */
  async statusOf(deviceId: string): Promise<DeviceStatus | undefined> {
    const row = await this.reader.selectFrom('device_status').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
    return row && toStatus(row);
  }

  async require(id: string): Promise<Device> {
    return found(await this.get(id), 'device', id);
  }

  /**
   * Devices in id order. With `careTeamIds`, only those a member of these teams may see: devices
   * whose current (or scheduled) assignment is to a patient of one of the teams, and, with
   * `includeUnassigned`, devices with no open assignment (stock to assign, and gateways).
   */
  async list(filter: { gatewayId?: string; careTeamIds?: readonly string[]; includeUnassigned?: boolean } & PageRequest = {}): Promise<Page<Device>> {
    const limit = pageSize(filter);
    let query = this.reader.selectFrom('devices').selectAll('devices').orderBy('devices.id').limit(limit + 1);
    if (filter.gatewayId) query = query.where('devices.gateway_id', '=', filter.gatewayId);
    if (filter.after) query = query.where('devices.id', '>', filter.after);
    const teams = filter.careTeamIds;
    if (teams) {
      query = query
        .leftJoin('device_assignments as open_assignment', (join) => join.onRef('open_assignment.device_id', '=', 'devices.id').on('open_assignment.assigned_until', 'is', null))
        .leftJoin('patients as assigned_patient', 'assigned_patient.id', 'open_assignment.patient_id')
        .where((eb) => {
          const visible = [];
          if (teams.length > 0) visible.push(eb('assigned_patient.care_team_id', 'in', [...teams]));
          if (filter.includeUnassigned) visible.push(eb('open_assignment.id', 'is', null));
          return visible.length > 0 ? eb.or(visible) : sql<boolean>`1 = 0`;
        });
    }
    return toPage(await query.execute(), limit, (row) => row.id, toDevice);
  }

  /**
   * The patients (with their care teams) that the device's data would be taken from or that hold a
   * claim on it if it were assigned again from `at`: the assignment covering `at` and every one
   * starting after it. Who may assign the device must be allowed to see all of them.
   */
  async assignmentsFrom(deviceId: string, at: string): Promise<(DeviceAssignment & { careTeamId: string })[]> {
    return this.assignmentsWithTeams(deviceId, toInstant(at, 'at'));
  }

  /** The whole history of a device, oldest first, each with the care team of its patient (for scoping). */
  async assignmentHistoryWithTeams(deviceId: string): Promise<(DeviceAssignment & { careTeamId: string })[]> {
    return this.assignmentsWithTeams(deviceId);
  }

  private async assignmentsWithTeams(deviceId: string, openAt?: string): Promise<(DeviceAssignment & { careTeamId: string })[]> {
    let query = this.reader
      .selectFrom('device_assignments')
      .innerJoin('patients', 'patients.id', 'device_assignments.patient_id')
      .selectAll('device_assignments')
      .select('patients.care_team_id')
      .where('device_assignments.device_id', '=', deviceId)
      .orderBy('device_assignments.assigned_from')
      .orderBy('device_assignments.id');
    if (openAt) query = query.where((eb) => eb.or([eb('device_assignments.assigned_until', 'is', null), eb('device_assignments.assigned_until', '>', openAt)]));
    return (await query.execute()).map((row) => ({ ...toAssignment(row), careTeamId: row.care_team_id }));
  }

  /**
   * Every active device with the hash an external Mosquitto checks (null for devices provisioned
   * before migration 0004: their secret must be rotated once), in id order, a page at a time.
   */
  async brokerCredentials(page: PageRequest = {}): Promise<Page<Device & { brokerPasswordHash: string | null }>> {
    const limit = pageSize(page);
    let query = this.reader.selectFrom('devices').selectAll().where('retired_at', 'is', null).orderBy('id').limit(limit + 1);
    if (page.after) query = query.where('id', '>', page.after);
    return toPage(await query.execute(), limit, (row) => row.id, (row) => ({ ...toDevice(row), brokerPasswordHash: row.broker_password_hash }));
  }

  /** The device if `secret` is its current secret and it is not retired; constant-time compare. */
  async authenticate(id: string, secret: string): Promise<Device | undefined> {
    const row = await this.reader.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.retired_at) return undefined;
    return verifyDeviceSecret(secret, row.secret_hash) ? toDevice(row) : undefined;
  }

  async retire(id: string, at: string = nowInstant()): Promise<Device> {
    const retiredAt = toInstant(at, 'retiredAt');
    await this.db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('devices').set({ retired_at: retiredAt }).where('id', '=', id).executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw notFound('device', id);
      await trx.updateTable('device_assignments').set({ assigned_until: retiredAt }).where('device_id', '=', id).where('assigned_until', 'is', null).execute();
    });
    this.changed(id);
    return this.require(id);
  }

  /**
   * Assigns the device to a patient from `at` (default now), closing the assignment that covers
   * `at` at the same instant, so that every reading belongs to exactly one patient. Assigning to the
   * patient it already has is a no-op. An assignment that starts after `at` and has already begun
   * is history (readings were filed under it): a conflict. One that has not begun yet (a kit being
   * shipped) is replaced when `replaceScheduled` is set, and a conflict otherwise.
   */
  async assign(deviceId: string, patientId: string, options: { at?: string; by: string; replaceScheduled?: boolean }): Promise<DeviceAssignment> {
    const now = nowInstant();
    const at = toInstant(options.at ?? now, 'at');
    const assignment = await this.db.transaction().execute(async (trx) => {
      const device = await trx.selectFrom('devices').select(['kind', 'retired_at']).where('id', '=', deviceId).executeTakeFirst();
      if (!device) throw notFound('device', deviceId);
      if (device.retired_at) throw conflict(`device ${deviceId} is retired`, { id: deviceId });
      if (device.kind === 'gateway') throw invalidInput('deviceId', 'a gateway is not assigned to a patient; assign the devices bound to it');
      const patient = await trx.selectFrom('patients').select(['id', 'discharged_at']).where('id', '=', patientId).executeTakeFirst();
      if (!patient) throw notFound('patient', patientId);
      if (patient.discharged_at) throw conflict(`patient ${patientId}'s monitoring ended on ${patient.discharged_at}: resume it (DELETE /v1/patients/${patientId}/discharge) before giving them a device`, { id: patientId });
      const later = await trx.selectFrom('device_assignments').selectAll().where('device_id', '=', deviceId).where('assigned_from', '>', at).orderBy('assigned_from').execute();
      const begun = later.find((row) => row.assigned_from <= now);
      if (begun) throw conflict(`device ${deviceId} has an assignment from ${begun.assigned_from}, after ${at}, which has begun`, { id: deviceId });
      if (later.length > 0 && !options.replaceScheduled) {
        throw conflict(`device ${deviceId} has an assignment starting ${later[0]!.assigned_from}, after ${at}`, { id: deviceId });
      }
      if (later.length > 0) await trx.deleteFrom('device_assignments').where('id', 'in', later.map((row) => row.id)).execute();
      const covering = await trx
        .selectFrom('device_assignments')
        .selectAll()
        .where('device_id', '=', deviceId)
        .where('assigned_from', '<=', at)
        .where((eb) => eb.or([eb('assigned_until', 'is', null), eb('assigned_until', '>', at)]))
        .executeTakeFirst();
      if (covering && covering.patient_id === patientId) {
        // Already this patient's (a replaced scheduled assignment had only set its end): it goes on.
        if (covering.assigned_until !== null) await trx.updateTable('device_assignments').set({ assigned_until: null }).where('id', '=', covering.id).execute();
        return { ...toAssignment(covering), assignedUntil: null };
      }
      if (covering) await trx.updateTable('device_assignments').set({ assigned_until: at }).where('id', '=', covering.id).execute();
      const inserted = await trx
        .insertInto('device_assignments')
        .values({ device_id: deviceId, patient_id: patientId, assigned_from: at, assigned_until: null, assigned_by: options.by, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: inserted.id, deviceId, patientId, assignedFrom: at, assignedUntil: null, assignedBy: options.by };
    });
    this.changed(deviceId);
    return assignment;
  }

  /** Ends the device's current assignment at `at` (default now); readings after it are unassigned. */
  async unassign(deviceId: string, options: { at?: string } = {}): Promise<void> {
    const at = toInstant(options.at ?? nowInstant(), 'at');
    const result = await this.db
      .updateTable('device_assignments')
      .set({ assigned_until: at })
      .where('device_id', '=', deviceId)
      .where('assigned_until', 'is', null)
      .where('assigned_from', '<=', at)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound('open assignment of device', deviceId);
    this.changed(deviceId);
  }

  /** Assignments of a device, oldest first. */
  async assignmentHistory(deviceId: string): Promise<DeviceAssignment[]> {
    return this.assignmentsWhere('device_id', deviceId);
  }

  /** Assignments of devices to a patient, oldest first. */
  async assignmentsOfPatient(patientId: string): Promise<DeviceAssignment[]> {
    return this.assignmentsWhere('patient_id', patientId);
  }

  private async assignmentsWhere(column: 'device_id' | 'patient_id', id: string): Promise<DeviceAssignment[]> {
    const rows = await this.reader.selectFrom('device_assignments').selectAll().where(column, '=', id).orderBy('assigned_from').orderBy('id').execute();
    return rows.map(toAssignment);
  }

  /** The patient the device was assigned to at `measuredAt`, if any. */
  async patientAt(deviceId: string, measuredAt: string): Promise<string | undefined> {
    const at = toInstant(measuredAt, 'measuredAt');
    const row = await this.reader
      .selectFrom('device_assignments')
      .select('patient_id')
      .where('device_id', '=', deviceId)
      .where('assigned_from', '<=', at)
      .where((eb) => eb.or([eb('assigned_until', 'is', null), eb('assigned_until', '>', at)]))
      .executeTakeFirst();
    return row?.patient_id;
  }
}
