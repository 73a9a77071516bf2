// The FHIR R4 read API under /fhir/R4: Patient, Device and Observation (read and search) and the
// CapabilityStatement. Authentication, roles and the audit record come from the same hooks as /v1
// (access.ts); the care-team scope is checked here, per resource, because a FHIR id is not a
// platform id (fhir/ids.ts). Errors are OperationOutcome resources (this plugin's error handler).
import { Readable } from 'node:stream';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Device as FhirDevice, Patient as FhirPatient, Resource } from '@medplum/fhirtypes';
import { RpmError, errorInfo, loadDeviceProfiles, type DeviceProfiles } from '../../device-profiles/index.js';
import {
  FHIR_ERRORS,
  FHIR_JSON,
  SYSTEMS,
  capabilityStatement,
  readablePeriodProblem,
  readCgmSummaryBundle,
  deviceResource,
  encodeCursor,
  fhirIdOf,
  instantOfObservationId,
  ObservationSearchPages,
  numberedObservationJsonOf,
  operationOutcome,
  pageSize,
  parseObservationSearch,
  parseTokens,
  patientResource,
  platformIdOf,
  searchValues,
  searchset,
  searchsetParts,
  referencedIds,
  withIncluded,
  type RawQuery,
} from '../../fhir/index.js';
import { CGM_PERIOD_DAYS, KeptReadings, STORE_ERRORS, addDays, isCalendarDate, localDate, type ClinicalStore, type Device, type Page, type Patient, type ReadingsStore } from '../../store/index.js';
import { CLINICAL_ROLES_AND_PATIENT, maySeePatient, maySeeTeam, requireUser, visibleTeams, type AccessControl } from '../access.js';
import { registerBulkExport } from './fhir-export.js';
import { API_ERRORS, ApiError } from '../errors.js';
import type { VerifiedClaims } from '../tokens.js';

export interface FhirRouteOptions {
  clinicalStore: ClinicalStore;
  readingsStore: ReadingsStore;
  access: AccessControl;
  deviceProfiles?: DeviceProfiles;
}

/** `_format` values that mean FHIR JSON (R4 "Content types and encodings"). */
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);

const readAccess = (audit: string, resourceType: string) => ({ access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'none' as const, audit, resourceType } });

/**
 * `start` and `end` of `$cgm-summary`: whole local dates of the patient, both included; by default
 * the 14 days up to yesterday (a report of complete days). A period may not end after today.
 */
function cgmPeriod(values: Map<string, string[]>, timezone: string, nowMs: number): { start: string; end: string } {
  const date = (name: string): string | undefined => {
    const value = values.get(name)?.at(-1);
    if (value === undefined) return undefined;
    if (!isCalendarDate(value)) throw new RpmError(FHIR_ERRORS.INVALID_SEARCH_PARAMETER, `${name}: "${value}" is not a date (YYYY-MM-DD)`);
    return value;
  };
  const today = localDate(nowMs, timezone);
  const end = date('end') ?? addDays(today, -1);
  const start = date('start') ?? addDays(end, -(CGM_PERIOD_DAYS.default - 1));
  const problem = readablePeriodProblem({ start, end }, today);
  if (problem) throw new RpmError(FHIR_ERRORS.INVALID_SEARCH_PARAMETER, `${problem.name}: ${problem.message}`);
  return { start, end };
}

function notFound(type: string, id: string): RpmError {
  return new RpmError(FHIR_ERRORS.UNKNOWN_RESOURCE, `${type}/${id} is not known here`);
}

/** The address the client reached this server at, for the links and fullUrls of Bundles. */
function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/fhir/R4`;
}

function selfUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${request.url}`;
}

function lenient(request: FastifyRequest): boolean {
  return /\bhandling\s*=\s*lenient\b/i.test(String(request.headers.prefer ?? ''));
}

/** A resource, or its JSON already written (searches of Observations, as text or UTF-8). */
function send(reply: FastifyReply, resource: Resource | string | Buffer | Readable): FastifyReply {
  return reply.type(`${FHIR_JSON}; charset=utf-8`).header('Cache-Control', 'no-store').send(resource);
}

/** The status and code of any error this plugin's routes and hooks throw. */
function describe(error: FastifyError | Error): { status: number; code: string; message: string } {
  if (error instanceof ApiError) return { status: error.statusCode, code: error.code, message: error.message };
  if (error instanceof RpmError) return { status: errorInfo(error.code)?.status ?? 400, code: error.code, message: error.message };
  const status = (error as FastifyError).statusCode;
  if (status && status < 500) return { status, code: status === 429 ? API_ERRORS.RATE_LIMITED : API_ERRORS.BAD_REQUEST, message: error.message };
  return { status: 500, code: API_ERRORS.INTERNAL, message: 'internal error; the request id is in the logs' };
}

/** Finds a resource by a hashed FHIR id (a platform id too long to escape) by going through the pages the caller may see. */
async function scan<T extends { id: string }>(hashed: string, page: (after: string | undefined) => Promise<Page<T>>): Promise<T | undefined> {
  let after: string | undefined;
  for (;;) {
    const { items, nextCursor } = await page(after);
    const found = items.find((item) => fhirIdOf(item.id) === hashed);
    if (found || nextCursor === null) return found;
    after = nextCursor;
  }
}

export const fhirRoutes: FastifyPluginAsync<FhirRouteOptions> = async (app, { clinicalStore, readingsStore, access, deviceProfiles = loadDeviceProfiles() }) => {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const { status, code, message } = describe(error);
    if (status >= 500) request.log.error({ err: error }, 'FHIR request failed');
    return send(reply.code(status), operationOutcome(code, message, status));
  });
  app.setNotFoundHandler((request, reply) => send(reply.code(404), operationOutcome(STORE_ERRORS.NOT_FOUND, `no FHIR interaction ${request.method} ${request.url.split('?')[0]} here`, 404)));

  app.addHook('preValidation', async (request) => {
    const format = (request.query as RawQuery | undefined)?._format;
    const formats = format === undefined ? [] : Array.isArray(format) ? format : [format];
    const accept = String(request.headers.accept ?? '');
    if (formats.some((value) => !JSON_FORMATS.has(value)) || (/xml|turtle/.test(accept) && !/json|\*\/\*/.test(accept))) {
      throw new RpmError(FHIR_ERRORS.UNSUPPORTED_FORMAT, 'this server answers FHIR JSON only (_format=json, Accept: application/fhir+json)');
    }
  });

  /** The patient a FHIR id names, if the caller may see them (404 for no such patient, 403 for another team's). */
  async function visiblePatient(request: FastifyRequest, fhirId: string): Promise<Patient> {
    const user = requireUser(request);
    const parsed = platformIdOf(fhirId);
    let patient: Patient | undefined;
    if (parsed && 'platformId' in parsed) patient = await clinicalStore.patients.get(parsed.platformId);
    else if (parsed) patient = await scan(parsed.hashed, (after) => clinicalStore.patients.list({ careTeamIds: visibleTeams(user), after, limit: 500 }));
    if (!patient) throw notFound('Patient', fhirId);
    request.auditPatientId = patient.id;
    if (!maySeePatient(user, patient)) throw new ApiError(API_ERRORS.FORBIDDEN, user.role === 'patient' ? 'a patient sees only their own data' : `Patient/${fhirId} belongs to another care team`);
    return patient;
  }

  /** The device as a FHIR Device, if the caller may see it: its patient now, or unassigned stock and gateways (as /v1/devices). */
  async function visibleDevice(user: VerifiedClaims, device: Device): Promise<{ resource: FhirDevice; patientId: string | undefined } | undefined> {
    const history = await clinicalStore.devices.assignmentHistoryWithTeams(device.id);
    const now = new Date().toISOString();
    const current = history.find((assignment) => assignment.assignedFrom <= now && (assignment.assignedUntil === null || assignment.assignedUntil > now));
    const visible = user.role === 'admin' || (user.role === 'patient' ? current?.patientId === user.patientId : current ? maySeeTeam(user, current.careTeamId) : true);
    if (!visible) return undefined;
    const resource = deviceResource({ device, patientId: current?.patientId, profile: device.model ? deviceProfiles.get(device.model) : undefined });
    return { resource, patientId: current?.patientId };
  }

  /**
   * `_include`d entries of a page of the patient's Observations: the patient, and each device the
   * page's Observations name that the caller may see (the devices that measured for this patient,
   * as the Device read shows them).
   */
  async function includedOf(user: VerifiedClaims, patient: Patient, parts: readonly Buffer[], include: { patient: boolean; device: boolean }): Promise<(FhirPatient | FhirDevice)[]> {
    const entries: (FhirPatient | FhirDevice)[] = [];
    if (include.patient) entries.push(patientResource(patient));
    if (include.device) {
      const named = referencedIds(parts, 'device', 'Device');
      const deviceIds = new Set((await clinicalStore.devices.assignmentsOfPatient(patient.id)).map((assignment) => assignment.deviceId));
      for (const deviceId of deviceIds) {
        if (!named.has(fhirIdOf(deviceId))) continue;
        const device = await clinicalStore.devices.get(deviceId);
        const visible = device && (await visibleDevice(user, device));
        if (visible) entries.push(visible.resource);
      }
    }
    return entries;
  }

  app.get('/metadata', { config: { public: true } }, async (request, reply) => send(reply, capabilityStatement(baseUrl(request), true)));

  registerBulkExport(app, { clinicalStore, readingsStore, deviceProfiles, access, baseUrl, lenient });
  // Searches page through a patient's days of readings as kept (KeptReadings): read again only the
  // days written to since, and rendered once per reading (fhir/observation-pages.ts).
  const observationPages = new ObservationSearchPages(new KeptReadings(readingsStore));

  app.get<{ Params: { id: string } }>('/Patient/:id', { config: readAccess('fhir.patient.read', 'patient') }, async (request, reply) => {
    request.auditResourceId = request.params.id;
    return send(reply, patientResource(await visiblePatient(request, request.params.id)));
  });

  // The HL7 CGM IG's summary of a period (fhir/cgm-summary.ts): an operation, as its figures are
  // computed from the readings when asked, not kept.
  app.get<{ Params: { id: string } }>('/Patient/:id/$cgm-summary', { config: readAccess('fhir.cgm-summary.read', 'patient') }, async (request, reply) => {
    request.auditResourceId = request.params.id;
    const patient = await visiblePatient(request, request.params.id);
    const nowMs = Date.now();
    const period = cgmPeriod(searchValues(request.query as RawQuery, ['start', 'end'], lenient(request)), patient.timezone, nowMs);
    return send(reply, await readCgmSummaryBundle(readingsStore, patient, period, nowMs));
  });

  app.get('/Patient', { config: readAccess('fhir.patient.search', 'patient') }, async (request, reply) => {
    const user = requireUser(request);
    const values = searchValues(request.query as RawQuery, ['_id', 'identifier'], lenient(request));
    // By the platform's id (`urn:rpm-ingest:patient`, or no system), or by a number of another
    // system the patient holds (the EHR's medical record number).
    const tokens = (values.get('identifier') ?? []).flatMap((value) => parseTokens('identifier', value));
    const byNumber = await Promise.all(tokens.filter((token) => token.system !== undefined && token.system !== SYSTEMS.patientId).map((token) => clinicalStore.patients.byIdentifier(token.system!, token.code)));
    const ids = [
      ...(values.get('_id') ?? []).flatMap((value) => value.split(',')),
      ...tokens.filter((token) => token.system === undefined || token.system === SYSTEMS.patientId).map((token) => fhirIdOf(token.code)),
      ...byNumber.flatMap((patient) => (patient ? [fhirIdOf(patient.id)] : [])),
    ];
    // A search by id or identifier that matches nothing finds nothing (not every patient).
    const asked = values.has('_id') || values.has('identifier');
    if (asked || user.role === 'patient') {
      const wanted = user.role === 'patient' ? (asked ? ids.filter((id) => id === fhirIdOf(user.patientId ?? '')) : [fhirIdOf(user.patientId ?? '')]) : ids;
      const patients: Patient[] = [];
      for (const id of new Set(wanted)) {
        const patient = await visiblePatient(request, id).catch((error: unknown) => (error instanceof RpmError || error instanceof ApiError ? undefined : Promise.reject(error)));
        if (patient) patients.push(patient);
      }
      request.auditPatientId = patients.length === 1 ? patients[0]!.id : null;
      return send(reply, searchset(baseUrl(request), selfUrl(request), 'Patient', patients.map(patientResource)));
    }
    const page = await clinicalStore.patients.list({ careTeamIds: visibleTeams(user), limit: pageSize(values), after: values.get('_cursor')?.at(-1) });
    return send(reply, searchset(baseUrl(request), selfUrl(request), 'Patient', page.items.map(patientResource), page.nextCursor ?? undefined));
  });

  app.get<{ Params: { id: string } }>('/Device/:id', { config: readAccess('fhir.device.read', 'device') }, async (request, reply) => {
    const user = requireUser(request);
    request.auditResourceId = request.params.id;
    const parsed = platformIdOf(request.params.id);
    let device: Device | undefined;
    if (parsed && 'platformId' in parsed) device = await clinicalStore.devices.get(parsed.platformId);
    else if (parsed) device = await scan(parsed.hashed, (after) => clinicalStore.devices.list({ after, limit: 500 }));
    const visible = device && (await visibleDevice(user, device));
    if (!visible) throw notFound('Device', request.params.id);
    request.auditPatientId = visible.patientId ?? null;
    return send(reply, visible.resource);
  });

  app.get('/Device', { config: readAccess('fhir.device.search', 'device') }, async (request, reply) => {
    const user = requireUser(request);
    const values = searchValues(request.query as RawQuery, ['_id', 'identifier', 'patient'], lenient(request));
    const patientValues = values.get('patient');
    let devices: Device[];
    let nextCursor: string | undefined;
    if (patientValues) {
      const patient = await visiblePatient(request, patientValues.at(-1)!.replace(/^(?:.*\/)?Patient\//, ''));
      const now = new Date().toISOString();
      const current = (await clinicalStore.devices.assignmentsOfPatient(patient.id)).filter((a) => a.assignedFrom <= now && (a.assignedUntil === null || a.assignedUntil > now));
      devices = (await Promise.all(current.map((assignment) => clinicalStore.devices.get(assignment.deviceId)))).filter((device): device is Device => device !== undefined);
    } else {
      const ids = [...(values.get('_id') ?? []).flatMap((value) => value.split(',')), ...(values.get('identifier') ?? []).flatMap((value) => identifierValues('identifier', value, SYSTEMS.deviceId).map(fhirIdOf))];
      if (ids.length > 0) {
        devices = [];
        for (const id of new Set(ids)) {
          const parsed = platformIdOf(id);
          const device = parsed && 'platformId' in parsed ? await clinicalStore.devices.get(parsed.platformId) : undefined;
          if (device) devices.push(device);
        }
      } else {
        const teams = visibleTeams(user);
        const page = await clinicalStore.devices.list({ limit: pageSize(values), after: values.get('_cursor')?.at(-1), ...(teams ? { careTeamIds: teams, includeUnassigned: user.role !== 'patient' } : {}) });
        devices = page.items;
        nextCursor = page.nextCursor ?? undefined;
      }
    }
    const resources = (await Promise.all(devices.map((device) => visibleDevice(user, device)))).flatMap((visible) => (visible ? [visible.resource] : []));
    return send(reply, searchset(baseUrl(request), selfUrl(request), 'Device', resources, nextCursor));
  });

  app.get<{ Params: { id: string } }>('/Observation/:id', { config: readAccess('fhir.observation.read', 'observation') }, async (request, reply) => {
    request.auditResourceId = request.params.id;
    const instantMs = instantOfObservationId(request.params.id);
    if (instantMs === undefined) throw notFound('Observation', request.params.id);
    for (const reading of await readingsStore.measuredWithin(instantMs)) {
      const observation = numberedObservationJsonOf(reading).find((candidate) => candidate.id === request.params.id);
      if (!observation) continue;
      await visiblePatient(request, fhirIdOf(reading.patientId));
      return send(reply, observation.json);
    }
    throw notFound('Observation', request.params.id);
  });

  app.get('/Observation', { config: readAccess('fhir.observation.search', 'observation') }, async (request, reply) => {
    const user = requireUser(request);
    const search = parseObservationSearch(request.query as RawQuery, lenient(request));
    const patientFhirId = search.patient ?? (user.role === 'patient' && user.patientId ? fhirIdOf(user.patientId) : undefined);
    if (!patientFhirId) throw new RpmError(FHIR_ERRORS.INVALID_SEARCH_PARAMETER, 'patient: is required (one patient per search; every patient at once is the Bulk Data export)');
    const patient = await visiblePatient(request, patientFhirId);
    const page = await observationPages.page(patient.id, search, baseUrl(request));
    // Included only beside matches: a page with none includes nothing.
    const included = page.count > 0 ? await includedOf(user, patient, page.parts, search.include) : [];
    // The Bundle in parts, its days of entries as kept (ObservationSearchPages): written one after
    // the other with the length known, never copied into one body. Fastify sends a stream as it is.
    const parts = searchsetParts(selfUrl(request), withIncluded(page.parts, baseUrl(request), included), page.next ? encodeCursor(page.next) : undefined);
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    return send(reply.header('content-length', length), Readable.from(parts));
  });
};

/** The platform ids an `identifier` search names in the system given (or with no system). */
function identifierValues(parameter: string, value: string, system: string): string[] {
  return parseTokens(parameter, value)
    .filter((token) => token.system === undefined || token.system === system)
    .map((token) => token.code);
}
