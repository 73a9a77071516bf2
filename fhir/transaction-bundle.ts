// Readings as a FHIR transaction Bundle for an EHR: every resource is created only if none with its
// identifier exists (`ifNoneExist`, conditional create), so a reading pushed twice, or a patient and
// device pushed with every batch, exists once in the EHR. A reading set aside from the patient's
// record after the EHR took it has its Observations updated to `entered-in-error` by the same
// identifier (conditional update, `PUT Observation?identifier=…`), and back to `final` when it is
// put back: FHIR's way of saying a resource should not have been (R4 Observation.status). References
// between the resources are the Bundle's own `urn:uuid:` fullUrls, which the EHR resolves to the
// resources it created or found (FHIR R4 "Transaction processing rules"): the EHR's ids are its own.
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Device as FhirDevice, Patient as FhirPatient, Resource } from '@medplum/fhirtypes';
import type { StoredReading } from '../device-profiles/index.js';
import type { FhirDeliveryAction } from '../store/index.js';
import { observationsOf } from './observations.js';

/** A token search value with FHIR's escapes (R4 "Search", escaping: `\\`, `|`, `,`, `$`). */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\|,$]/g, (character) => `\\${character}`);
}

/**
 * The search a conditional create is made on: the resource's identifier; for a Patient, any of its
 * identifiers (FHIR's comma is "or"): the platform's id, or a number the EHR knows the patient by,
 * so that readings land in the chart the EHR has under the patient's medical record number rather
 * than a second patient of the same person. An EHR holding two patients that match (its own chart
 * and one the platform made before the number was known) refuses the create (412), to be merged
 * there, rather than the platform choosing one.
 */
export function identifierQuery(resource: { resourceType?: string; identifier?: { system?: string; value?: string }[] }): string {
  const identifiers = (resource.resourceType === 'Patient' ? resource.identifier : resource.identifier?.slice(0, 1)) ?? [];
  if (identifiers.length === 0 || identifiers.some((identifier) => !identifier.system || !identifier.value)) throw new Error(`a ${JSON.stringify(resource).slice(0, 40)} to push has no identifier`);
  return `identifier=${encodeURIComponent(identifiers.map((identifier) => `${escapeSearchValue(identifier.system!)}|${escapeSearchValue(identifier.value!)}`).join(','))}`;
}

/**
 * Our resource without what is ours alone (id, lastUpdated), its references rewritten to the Bundle's
 * fullUrls: a reference to anything not in the Bundle would point at an id the EHR does not have.
 */
export function forTheEhr<T extends Resource>(resource: T, fullUrls: ReadonlyMap<string, string>): T {
  const text = JSON.stringify({ ...resource, id: undefined, meta: resource.meta?.profile ? { profile: resource.meta.profile } : undefined }, (key, value: unknown) => {
    if (key !== 'reference' || typeof value !== 'string') return value;
    const fullUrl = fullUrls.get(value);
    if (fullUrl === undefined) throw new Error(`${resource.resourceType} ${resource.id ?? ''} refers to ${value}, which the batch does not hold`);
    return fullUrl;
  });
  return JSON.parse(text) as T;
}

export interface PushBatch {
  /** Each reading with what to do with its Observations (`create` when not said). */
  readings: readonly { reading: StoredReading; action?: FhirDeliveryAction }[];
  patients: readonly FhirPatient[];
  devices: readonly FhirDevice[];
}

/** A transaction Bundle: the batch's patients and devices, then every reading's Observations. */
export function transactionBundle(batch: PushBatch): Bundle {
  const fullUrls = new Map<string, string>();
  for (const resource of [...batch.patients, ...batch.devices]) fullUrls.set(`${resource.resourceType}/${resource.id}`, `urn:uuid:${randomUUID()}`);
  const entries: BundleEntry[] = [];
  for (const resource of [...batch.patients, ...batch.devices]) {
    entries.push({ fullUrl: fullUrls.get(`${resource.resourceType}/${resource.id}`)!, resource: forTheEhr(resource, fullUrls), request: { method: 'POST', url: resource.resourceType, ifNoneExist: identifierQuery(resource) } });
  }
  for (const { reading, action = 'create' } of batch.readings) {
    for (const observation of observationsOf(reading)) {
      const fullUrl = `urn:uuid:${randomUUID()}`;
      if (action === 'create') {
        entries.push({ fullUrl, resource: forTheEhr(observation, fullUrls), request: { method: 'POST', url: 'Observation', ifNoneExist: identifierQuery(observation) } });
      } else {
        // An EHR that never took it (an attempt that failed after all) creates it so: the record
        // then says what the platform says of the reading, and a create still on its way finds it.
        const status = action === 'retract' ? 'entered-in-error' : 'final';
        entries.push({ fullUrl, resource: forTheEhr({ ...observation, status }, fullUrls), request: { method: 'PUT', url: `Observation?${identifierQuery(observation)}` } });
      }
    }
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
