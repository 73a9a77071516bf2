// FHIR Bulk Data export routes (Bulk Data Access IG 2.0), inside the FHIR plugin (its OperationOutcome
// errors): kick-off for every patient (`Patient/$export`, admins) or a care team's
// (`Group/:careTeamId/$export`, the team's clinicians), the status URL (202 with X-Progress while
// planning, 200 with the manifest when done, DELETE to cancel), and the NDJSON files, each streamed
// from the stores as it is downloaded. Only who kicked an export off (or an admin) may follow it.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RpmError } from '../../device-profiles/index.js';
import { EXPORT_FILES_HOURS, FHIR_ERRORS, STALLED_PLANNING_MS, exportChunks, parseExportRequest, planExport, startExport, type ExportStores, type RawQuery } from '../../fhir/index.js';
import type { BulkExport } from '../../store/index.js';
import { maySeeTeam, requireUser, type AccessControl } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';

export interface BulkExportRouteOptions extends ExportStores {
  access: AccessControl;
  baseUrl(request: FastifyRequest): string;
  lenient(request: FastifyRequest): boolean;
}

const NDJSON = 'application/fhir+ndjson';

export function registerBulkExport(app: FastifyInstance, options: BulkExportRouteOptions): void {
  const { clinicalStore, access, baseUrl } = options;
  /** Exports this process is planning now (a stalled one is planned again by whoever polls it). */
  const planning = new Set<string>();

  const plan = (job: BulkExport, request: FastifyRequest) => {
    if (planning.has(job.id)) return;
    planning.add(job.id);
    planExport(clinicalStore, job)
      .catch(async (error: Error) => {
        request.log.error({ err: error.message, exportId: job.id }, 'FHIR bulk export planning failed');
        await clinicalStore.bulkExports.fail(job.id, 'the export could not be planned; kick it off again').catch(() => undefined);
      })
      .finally(() => planning.delete(job.id));
  };

  const kickOff = async (request: FastifyRequest, careTeamId: string | null) => {
    if (!/\brespond-async\b/i.test(String(request.headers.prefer ?? ''))) {
      throw new RpmError(FHIR_ERRORS.INVALID_SEARCH_PARAMETER, 'Prefer: a Bulk Data export runs asynchronously; send Prefer: respond-async');
    }
    const exportRequest = parseExportRequest(request.query as RawQuery, options.lenient(request));
    const job = await startExport(clinicalStore, { requestedBy: requireUser(request).sub, careTeamId, request: exportRequest, requestUrl: `${request.protocol}://${request.host}${request.url}` });
    request.auditResourceId = job.id;
    plan(job, request);
    return job;
  };

  const exportAccess = (audit: string, roles: ('admin' | 'nurse' | 'physician')[]) => ({ access: { roles, scope: 'none' as const, audit, resourceType: 'bulk_export' } });

  app.get('/Patient/$export', { config: exportAccess('fhir.export.start', ['admin']) }, async (request, reply) => {
    const job = await kickOff(request, null);
    return reply.code(202).header('Content-Location', `${baseUrl(request)}/$export-status/${job.id}`).send();
  });

  app.get<{ Params: { id: string } }>('/Group/:id/$export', { config: exportAccess('fhir.export.start', ['admin', 'nurse', 'physician']) }, async (request, reply) => {
    const user = requireUser(request);
    const team = await clinicalStore.careTeams.get(request.params.id);
    if (!team) throw new RpmError(FHIR_ERRORS.UNKNOWN_RESOURCE, `Group/${request.params.id} is not known here (a Group is a care team)`);
    if (!maySeeTeam(user, team.id)) throw new ApiError(API_ERRORS.FORBIDDEN, `Group/${team.id} is another care team`);
    const job = await kickOff(request, team.id);
    return reply.code(202).header('Content-Location', `${baseUrl(request)}/$export-status/${job.id}`).send();
  });

  /** The export, to the one who kicked it off or an admin; anyone else learns nothing of it (404). */
  const ownExport = async (request: FastifyRequest, id: string): Promise<BulkExport> => {
    const user = requireUser(request);
    request.auditResourceId = id;
    const job = await clinicalStore.bulkExports.get(id);
    if (!job || (job.requestedBy !== user.sub && user.role !== 'admin')) throw new RpmError(FHIR_ERRORS.UNKNOWN_RESOURCE, `no export ${id} here (finished exports are kept ${EXPORT_FILES_HOURS} hours)`);
    return job;
  };

  app.get<{ Params: { id: string } }>('/$export-status/:id', { config: exportAccess('fhir.export.status', ['admin', 'nurse', 'physician']) }, async (request, reply) => {
    const job = await ownExport(request, request.params.id);
    if (job.status === 'failed') throw new ApiError(API_ERRORS.INTERNAL, job.error ?? 'the export failed');
    if (job.status === 'in_progress') {
      if (Date.now() - Date.parse(job.updatedAt) > STALLED_PLANNING_MS) plan(job, request);
      return reply.code(202).header('X-Progress', `planning: ${job.plannedPatients} patients so far`).header('Retry-After', '1').send();
    }
    const files = job.files ?? [];
    return reply
      .header('Expires', new Date(job.expiresAt).toUTCString())
      .type('application/json')
      .send({
        transactionTime: job.transactionTime,
        request: job.requestUrl,
        requiresAccessToken: true,
        output: files.map((file, index) => ({ type: file.type, url: `${baseUrl(request)}/$export-files/${job.id}/${index}.ndjson` })),
        error: [],
      });
  });

  app.delete<{ Params: { id: string } }>('/$export-status/:id', { config: exportAccess('fhir.export.cancel', ['admin', 'nurse', 'physician']) }, async (request, reply) => {
    const job = await ownExport(request, request.params.id);
    await clinicalStore.bulkExports.delete(job.id);
    return reply.code(202).send();
  });

  app.get<{ Params: { id: string; file: string } }>('/$export-files/:id/:file', { config: exportAccess('fhir.export.download', ['admin', 'nurse', 'physician']) }, async (request, reply) => {
    const user = requireUser(request);
    const job = await ownExport(request, request.params.id);
    const index = /^(\d{1,6})\.ndjson$/.exec(request.params.file)?.[1];
    const file = index === undefined || job.status !== 'complete' ? undefined : job.files?.[Number(index)];
    if (!file) throw new RpmError(FHIR_ERRORS.UNKNOWN_RESOURCE, `export ${job.id} has no file ${request.params.file}`);
    // Every patient whose data leaves in the file gets an audit record of their own.
    const onPatient = (patientId: string) => access.auditEvent(request, { actor: user.sub, actorRole: user.role, action: 'fhir.export.read', outcome: 'allowed', resourceType: file.type.toLowerCase(), resourceId: job.id, patientId });
    return reply.type(NDJSON).header('Cache-Control', 'no-store').send(Readable.from(exportChunks(options, job, file, onPatient)));
  });
}
