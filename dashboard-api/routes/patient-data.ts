// Routes under /v1/patients/:id: readings, thresholds, time entries. Scoped to the patient's team.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DAY_MS, MEASUREMENT_KINDS } from '../../device-profiles/index.js';
import { DEFAULT_RULES, resolveRules } from '../../rules/index.js';
import { addDays } from '../../billing/index.js';
import { CGM_PERIOD_DAYS, localDate, readCgmSummary, MAX_MINUTES_PER_ENTRY, TIME_ENTRY_ACTIVITIES, type ClinicalStore, type ReadingsStore } from '../../store/index.js';
import { periodReportPdf, readPeriodSummary, readablePeriodProblem } from '../../fhir/index.js';
import { CLINICAL_ROLES, CLINICAL_ROLES_AND_PATIENT, requireUser } from '../access.js';
import { ChartDays } from '../chart-days.js';
import { readBillingProgress } from '../billing-progress.js';
import { monthProblem, readMonthlyReport } from '../../reports/monthly-report.js';
import { monthlyReportPdf } from '../../reports/monthly-report-pdf.js';
import { READINGS_CSV_COLUMNS, readingsCsv } from '../../reports/readings-csv.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { calendarDate, idParams, instant } from './shared.js';
import { billingProgressView, bucketView, cgmSummaryView, errorResponses, readingView as readingSchema, thresholdsView, timeEntryView } from '../schemas.js';

/** The body of a readings answer around the array the store renders. */
const READINGS_BODY = { before: '{"readings":', after: '}' };
/** A readings query spans at most a year: enough for any chart, bounded in memory. */
const MAX_RANGE_MS = 366 * DAY_MS;
const CGM_MAX_RANGE_MS = CGM_PERIOD_DAYS.max * DAY_MS;


export const patientDataRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; readingsStore: ReadingsStore }> = async (app, { clinicalStore, readingsStore }) => {
  const chartDays = new ChartDays(readingsStore);
  app.get(
    '/v1/patients/:id/readings',
    {
      schema: {
        params: idParams,
        querystring: z.object({
          kind: z.enum(MEASUREMENT_KINDS).optional(),
          from: instant.optional(),
          to: instant.optional(),
          every: z.string().regex(/^[1-9]\d{0,2}[mhd]$/, 'must be a duration such as 1h or 1d').optional(),
          format: z.enum(['json', 'csv']).optional().describe('`csv`: the readings as a CSV file to download (not with `every`)'),
        }),
        response: { 200: z.union([z.object({ readings: z.array(readingSchema) }), z.object({ buckets: z.array(bucketView) })]), ...errorResponses },
        tags: ['readings'],
        description: `Readings newest first, or with \`every\` counts, minima, maxima and means per bucket. \`format=csv\`: a CSV file (${READINGS_CSV_COLUMNS.join(', ')}), one row a reading, newest first, values in the kind’s canonical unit and as sent, times as the instant and on the patient’s clock.`,
      },
      // The schema documents the response; at run time the readings arrive from the store as JSON
      // text already in the contract's shape (readingObject), joined into the body as they are:
      // re-validating a year of readings with zod, or even parsing and re-serializing them, cost
      // more than querying them (bench/api.ts profile). Buckets are plainly serialized.
      serializerCompiler: () => (data) => JSON.stringify(data),
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'readings.read' } },
    },
    async (request, reply) => {
      const to = request.query.to ?? new Date(Date.now() + 60_000).toISOString();
      const from = request.query.from ?? new Date(Date.parse(to) - 30 * DAY_MS).toISOString();
      if (Date.parse(to) <= Date.parse(from)) throw new ApiError(API_ERRORS.VALIDATION, 'querystring/to: must be after from');
      if (Date.parse(to) - Date.parse(from) > MAX_RANGE_MS) throw new ApiError(API_ERRORS.VALIDATION, 'querystring/from: the range may span at most 366 days');
      if (request.query.format === 'csv') {
        if (request.query.every) throw new ApiError(API_ERRORS.VALIDATION, 'querystring/every: buckets are not offered as CSV; leave it out');
        const patient = await clinicalStore.patients.require(request.params.id);
        const readings = await readingsStore.query({ patientId: patient.id, kind: request.query.kind, from, to, newestFirst: true });
        const name = `readings-${patient.id}-${from.slice(0, 10)}-to-${to.slice(0, 10)}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
        reply.header('Cache-Control', 'no-store').header('Content-Disposition', `attachment; filename="${name}"`);
        return reply.type('text/csv; charset=utf-8').send(readingsCsv(readings, patient.timezone) as never);
      }
      if (request.query.every) {
        if (!request.query.kind) throw new ApiError(API_ERRORS.VALIDATION, 'querystring/kind: is required with every');
        const patient = await clinicalStore.patients.require(request.params.id);
        return { buckets: await readingsStore.aggregate({ patientId: patient.id, kind: request.query.kind, from, to, every: request.query.every, timezone: patient.timezone }) };
      }
      const body = await chartDays.queryJsonArray({ patientId: request.params.id, kind: request.query.kind, from, to, newestFirst: true }, READINGS_BODY);
      // The typed reply wants the { readings } object; this is that object already serialized (kept
      // by ChartDays), and Fastify sends a Buffer as it is (it serializes only objects), hence the cast.
      return reply.type('application/json; charset=utf-8').send(body as never);
    },
  );

  app.get(
    '/v1/patients/:id/cgm-summary',
    {
      schema: {
        params: idParams,
        querystring: z.object({ from: instant.optional(), to: instant.optional() }),
        response: { 200: cgmSummaryView, ...errorResponses },
        tags: ['readings'],
        description:
          'CGM metrics of a period (default the last 14 days, at most 90): % of readings in the consensus ranges (veryLow < 54, low 54–69, inRange 70–180, high 181–250, veryHigh > 250 mg/dL), mean, GMI, CV, sensor wear (readings received of those the period could hold at the sensor\u2019s interval), and per hour of the patient\u2019s local day the 5/25/50/75/95th percentiles (the AGP).',
      },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'cgm-summary.read' } },
    },
    async (request) => {
      const to = request.query.to ?? new Date().toISOString();
      const from = request.query.from ?? new Date(Date.parse(to) - CGM_PERIOD_DAYS.default * DAY_MS).toISOString();
      if (Date.parse(to) <= Date.parse(from)) throw new ApiError(API_ERRORS.VALIDATION, 'querystring/to: must be after from');
      if (Date.parse(to) - Date.parse(from) > CGM_MAX_RANGE_MS) throw new ApiError(API_ERRORS.VALIDATION, `querystring/from: the range may span at most ${CGM_PERIOD_DAYS.max} days`);
      const patient = await clinicalStore.patients.require(request.params.id);
      return { patientId: patient.id, from: new Date(from).toISOString(), to: new Date(to).toISOString(), timezone: patient.timezone, ...(await readCgmSummary(readingsStore, patient, Date.parse(from), Date.parse(to))) };
    },
  );

  app.get(
    '/v1/patients/:id/cgm-report',
    {
      schema: {
        params: idParams,
        querystring: z.object({ start: calendarDate.optional(), end: calendarDate.optional(), days: z.coerce.number().int().min(1).max(CGM_PERIOD_DAYS.max).optional() }),
        response: { 200: z.instanceof(Buffer).describe('The report: a one-page PDF'), ...errorResponses },
        produces: ['application/pdf'],
        tags: ['readings'],
        description:
          'The CGM summary of whole local dates as a one-page PDF report for print or the record (the AGP: statistics with their targets, time in ranges, the 24-hour profile; the HL7 CGM IG\u2019s CGM Summary PDF Report). `start`/`end`: the patient\u2019s local dates, both included; by default `end` is today (as far as it has gone) and `start` the `days` (default 14) before it; at most 90 days, ending today at the latest.',
      },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'cgm-report.read' } },
    },
    async (request, reply) => {
      const patient = await clinicalStore.patients.require(request.params.id);
      const nowMs = Date.now();
      const today = localDate(nowMs, patient.timezone);
      const end = request.query.end ?? today;
      const period = { start: request.query.start ?? addDays(end, -((request.query.days ?? CGM_PERIOD_DAYS.default) - 1)), end };
      const problem = readablePeriodProblem(period, today);
      if (problem) throw new ApiError(API_ERRORS.VALIDATION, `querystring/${problem.name}: ${problem.message}`);
      const shown = await readPeriodSummary(readingsStore, patient, period, nowMs, 1);
      const pdf = await periodReportPdf(patient, period, shown, new Date(nowMs).toISOString());
      // A download, not a page: the console's Content-Security-Policy is no place for a PDF viewer.
      return reply
        .type('application/pdf')
        .header('Content-Disposition', `attachment; filename="cgm-report-${period.start}-to-${period.end}.pdf"`)
        .header('Cache-Control', 'no-store')
        .send(pdf);
    },
  );

  app.get('/v1/patients/:id/thresholds', { schema: { params: idParams, response: { 200: thresholdsView, ...errorResponses }, tags: ['thresholds'] }, config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'thresholds.read' } } }, async (request) => {
    const stored = await clinicalStore.thresholds.get(request.params.id);
    const effectiveRules = resolveRules(DEFAULT_RULES, stored.overrides);
    // The patient reads the limits in effect for them, not the clinicians' overrides and reasons.
    if (requireUser(request).role === 'patient') return { ...stored, overrides: {}, updatedBy: null, effectiveRules };
    return { ...stored, effectiveRules };
  });

  app.put(
    '/v1/patients/:id/thresholds',
    { schema: { params: idParams, body: z.record(z.string(), z.unknown()), response: { 200: thresholdsView, ...errorResponses }, tags: ['thresholds'] }, config: { access: { roles: ['admin', 'physician'], scope: 'patient', audit: 'thresholds.change' } } },
    async (request) => {
      // Validated against the rules before it is stored: an override the engine would refuse is a 400.
      const effectiveRules = resolveRules(DEFAULT_RULES, request.body);
      const stored = await clinicalStore.thresholds.put(request.params.id, request.body, requireUser(request).sub);
      return { ...stored, effectiveRules };
    },
  );

  app.post(
    '/v1/patients/:id/time-entries',
    {
      schema: {
        params: idParams,
        body: z.object({ minutes: z.number().int().min(1).max(MAX_MINUTES_PER_ENTRY, `must be at most ${MAX_MINUTES_PER_ENTRY} minutes: one entry is one sitting; log longer work as the sittings it was`), performedAt: instant, interactive: z.boolean(), note: z.string().max(2000).optional(), activity: z.enum(TIME_ENTRY_ACTIVITIES).optional() }),
        response: { 201: timeEntryView, ...errorResponses },
        tags: ['time entries'],
      },
      config: { access: { roles: ['admin', 'nurse', 'physician'], scope: 'patient', audit: 'time_entry.create' } },
    },
    async (request, reply) => {
      const entry = await clinicalStore.timeEntries.add({ patientId: request.params.id, performedBy: requireUser(request).sub, ...request.body });
      return reply.code(201).send(entry);
    },
  );

  app.get(
    '/v1/patients/:id/billing-progress',
    { schema: { params: idParams, response: { 200: billingProgressView, ...errorResponses }, tags: ['time entries'] }, config: { access: { roles: CLINICAL_ROLES, scope: 'patient', audit: 'billing_progress.read' } } },
    async (request) => readBillingProgress({ clinicalStore, readingsStore }, await clinicalStore.patients.require(request.params.id), Date.now()),
  );

  // The month for the physician's review and the chart (reports/monthly-report.ts): a PDF download.
  app.get(
    '/v1/patients/:id/monthly-report',
    {
      schema: {
        params: idParams,
        querystring: z.object({ month: z.string().optional().describe('YYYY-MM, the patient’s calendar month; by default the one running in their time zone') }),
        response: { 200: z.instanceof(Buffer).describe('The report as PDF'), ...errorResponses },
        produces: ['application/pdf'],
        tags: ['time entries'],
        description:
          'A patient’s month of remote monitoring as a PDF to review, sign and file: each kind’s readings (how many, on how many days, each value’s mean, lowest and highest), the billing codes the month reaches with why not (as the billing export), the alerts opened and what became of them, the care team’s time, the check-ins answered, and a block for the reviewing physician’s signature. Days and times are the patient’s.',
      },
      config: { access: { roles: CLINICAL_ROLES, scope: 'patient', audit: 'monthly_report.read' } },
    },
    async (request, reply) => {
      const patient = await clinicalStore.patients.require(request.params.id);
      const nowMs = Date.now();
      const month = request.query.month ?? localDate(nowMs, patient.timezone).slice(0, 7);
      const problem = monthProblem(month, patient, nowMs);
      if (problem) throw new ApiError(API_ERRORS.VALIDATION, `querystring/month: ${problem}`);
      const pdf = await monthlyReportPdf(await readMonthlyReport({ clinicalStore, readingsStore }, patient, month, nowMs));
      return reply.type('application/pdf').header('Content-Disposition', `attachment; filename="monitoring-report-${month}.pdf"`).header('Cache-Control', 'no-store').send(pdf);
    },
  );
};
