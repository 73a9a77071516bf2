// `GET /v1/patients/:id/ehr-patients`: the patient's possible charts in their care team's EHR (found
// by birth date and name: fhir/ehr-patient-search.ts), with the numbers the EHR holds them under, so
// a nurse takes the medical record number from the EHR rather than typing it. Nothing is changed
// here: the number chosen is saved as any record number (PATCH /v1/patients/:id).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { EhrClients, MAX_EHR_CANDIDATES, searchEhrPatients } from '../../fhir/index.js';
import type { WebhookTargetPolicy } from '../../rules/index.js';
import { STORE_ERRORS, type ClinicalStore } from '../../store/index.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { ehrPatientsAnswer, errorResponses } from '../schemas.js';
import { idParams } from './shared.js';


export const ehrPatientRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; targets: WebhookTargetPolicy }> = async (app, { clinicalStore, targets }) => {
  const clients = new EhrClients(targets);

  app.get(
    '/v1/patients/:id/ehr-patients',
    {
      schema: {
        params: idParams,
        response: { 200: ehrPatientsAnswer, ...errorResponses },
        tags: ['FHIR push'],
        description: `The patient’s possible charts in their care team’s EHR: its Patients born on their birth date whose name holds every part of theirs, or, when none does, any part (at most ${MAX_EHR_CANDIDATES}), each with the numbers the EHR holds it under. Offered, never applied: save the number chosen with PATCH /v1/patients/{id}. 404 when the team sends readings to no EHR; 502 with the EHR’s answer when it cannot be searched.`,
      },
      config: { access: { roles: ['admin', 'nurse', 'physician'], scope: 'patient', audit: 'patient.ehr_search', resourceType: 'patient' } },
    },
    async (request) => {
      const patient = await clinicalStore.patients.require(request.params.id);
      const endpoint = await clinicalStore.fhirEndpoints.get(patient.careTeamId);
      if (!endpoint) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${patient.careTeamId} sends readings to no EHR: there is no EHR to search`);
      try {
        return await searchEhrPatients(clients.for(endpoint), patient);
      } catch (error) {
        throw new ApiError(API_ERRORS.EHR_UNAVAILABLE, `the care team's EHR could not be searched: ${(error as Error).message}`);
      }
    },
  );
};
