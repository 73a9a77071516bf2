// Readings as FHIR R4 Observations: one table, a row per kind, each row the Observations one reading
// of that kind becomes (a cuff's reading is a blood-pressure panel and, when the cuff measured it, a
// heart-rate Observation). Profiles and codes: ../shared/reference/fhir.md ("Mapping of the reading
// vocabulary"). Every Observation claims the R4 vital-signs profile that applies (glucose is not a
// vital sign: category laboratory); it claims the PHD profile too when the reading came through a
// gateway, because the PHD IG requires the gateway extension (1..1) and a reading a device sent
// straight has no gateway to name.
import type { CodeableConcept, Coding, Extension, Observation, ObservationComponent, Quantity } from '@medplum/fhirtypes';
import { UCUM, type MeasurementKind, type StoredReading, type WireUnit } from '../device-profiles/index.js';
import { fhirIdOf, observationId, observationIdentifierValue } from './ids.js';
import { EXTENSIONS, MDC, PROFILES, SYSTEMS, type Code } from './vocabulary.js';

type Category = 'vital-signs' | 'laboratory';

interface ComponentRow {
  field: string;
  loinc: Code;
  mdc: Code;
}

/** One Observation a reading of a kind becomes. */
export interface ObservationRow {
  /** Names the Observation among a reading's (part of its id and identifier). */
  part: string;
  /** The reading field that must be present for this Observation to exist (the main one always is). */
  field: string;
  category: Category;
  /** LOINC codes, the first the one the R4 profile requires. */
  loinc: readonly Code[];
  mdc: Code;
  text: string;
  /** The R4 vital-signs profile it claims (none for glucose, not a vital sign). */
  profile?: string;
  /** The PHD profile it claims when the reading came through a gateway. */
  phdProfile: string;
  /** Units the value may keep as the device sent it; any other is sent converted, with the original beside it. */
  unitsKeptAsSent: readonly WireUnit[];
  /** A panel: the value is in components (systolic, diastolic, mean). */
  components?: readonly ComponentRow[];
}

const LOINC = {
  bloodPressurePanel: { code: '85354-9', display: 'Blood pressure panel with all children optional' },
  systolic: { code: '8480-6', display: 'Systolic blood pressure' },
  diastolic: { code: '8462-4', display: 'Diastolic blood pressure' },
  meanArterial: { code: '8478-0', display: 'Mean blood pressure' },
  heartRate: { code: '8867-4', display: 'Heart rate' },
  /** Required by the R4 oxygensat profile. */
  oxygenSaturation: { code: '2708-6', display: 'Oxygen saturation in Arterial blood' },
  /** Asked for by US Core besides 2708-6. */
  pulseOximetry: { code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry' },
  capillaryGlucose: { code: '41653-7', display: 'Glucose [Mass/volume] in Capillary blood by Glucometer' },
  bodyWeight: { code: '29463-7', display: 'Body weight' },
  bmi: { code: '39156-5', display: 'Body mass index (BMI) [Ratio]' },
  bodyTemperature: { code: '8310-5', display: 'Body temperature' },
} as const satisfies Record<string, Code>;

function heartRateRow(field: string, mdc: Code): ObservationRow {
  return { part: field === 'value' ? 'heart-rate' : 'pulse', field, category: 'vital-signs', loinc: [LOINC.heartRate], mdc, text: 'Heart rate', profile: PROFILES.heartRate, phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['/min'] };
}

export const OBSERVATION_TABLE: Readonly<Record<MeasurementKind, readonly ObservationRow[]>> = {
  blood_pressure: [
    {
      part: 'blood-pressure',
      field: 'systolic',
      category: 'vital-signs',
      loinc: [LOINC.bloodPressurePanel],
      mdc: MDC.bloodPressure,
      text: 'Blood pressure',
      profile: PROFILES.bloodPressure,
      phdProfile: PROFILES.phdCompoundNumeric,
      // The R4 bp profile fixes mm[Hg]: a kPa cuff's values are converted, kPa kept beside them.
      unitsKeptAsSent: ['mmHg'],
      components: [
        { field: 'systolic', loinc: LOINC.systolic, mdc: MDC.systolic },
        { field: 'diastolic', loinc: LOINC.diastolic, mdc: MDC.diastolic },
        { field: 'meanArterial', loinc: LOINC.meanArterial, mdc: MDC.meanArterial },
      ],
    },
    heartRateRow('pulse', MDC.cuffPulse),
  ],
  glucose: [
    { part: 'glucose', field: 'value', category: 'laboratory', loinc: [LOINC.capillaryGlucose], mdc: MDC.capillaryGlucose, text: 'Glucose in capillary blood by glucometer', phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['mg/dL', 'mmol/L'] },
  ],
  weight: [
    { part: 'weight', field: 'value', category: 'vital-signs', loinc: [LOINC.bodyWeight], mdc: MDC.bodyWeight, text: 'Body weight', profile: PROFILES.bodyWeight, phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['kg', 'lb'] },
    { part: 'bmi', field: 'bmi', category: 'vital-signs', loinc: [LOINC.bmi], mdc: MDC.bmi, text: 'Body mass index', profile: PROFILES.bmi, phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: [] },
  ],
  spo2: [
    { part: 'spo2', field: 'value', category: 'vital-signs', loinc: [LOINC.oxygenSaturation, LOINC.pulseOximetry], mdc: MDC.spo2, text: 'Oxygen saturation by pulse oximetry', profile: PROFILES.oxygenSaturation, phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['%'] },
    heartRateRow('pulse', MDC.oximeterPulse),
  ],
  temperature: [
    { part: 'temperature', field: 'value', category: 'vital-signs', loinc: [LOINC.bodyTemperature], mdc: MDC.bodyTemperature, text: 'Body temperature', profile: PROFILES.bodyTemperature, phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['Cel', 'degF'] },
  ],
  heart_rate: [heartRateRow('value', MDC.heartRate)],
};

/** UCUM codes of the units the platform stores that are not wire units. */
const FIXED_UNITS: Readonly<Record<string, { ucum: string; unit: string }>> = {
  pulse: { ucum: '/min', unit: 'beats/minute' },
  bmi: { ucum: 'kg/m2', unit: 'kg/m2' },
};

/** How people write each UCUM code (Quantity.unit). */
const UNIT_TEXT: Readonly<Record<string, string>> = { 'mm[Hg]': 'mmHg', '[lb_av]': 'lb', Cel: '°C', '[degF]': '°F', '/min': 'beats/minute' };

function ucumQuantity(value: number, ucum: string): Quantity {
  return { value, unit: UNIT_TEXT[ucum] ?? ucum, system: SYSTEMS.ucum, code: ucum };
}

/**
 * A field's value: as the device sent it when the profile takes that unit (an EHR shows what the
 * patient saw on the device), else in the canonical unit with the sent value in the as-sent extension.
 */
function fieldQuantity(reading: StoredReading, row: ObservationRow, field: string): { quantity: Quantity; asSent?: Extension } {
  const fixed = FIXED_UNITS[field];
  if (fixed) return { quantity: ucumQuantity(reading.values[field]!, fixed.ucum) };
  const sentUnit = reading.original.unit as WireUnit;
  const sentValue = reading.original.values[field];
  if (sentValue !== undefined && row.unitsKeptAsSent.includes(sentUnit)) return { quantity: ucumQuantity(sentValue, UCUM[sentUnit]) };
  const quantity = ucumQuantity(reading.values[field]!, UCUM[reading.unit as WireUnit]);
  if (sentValue === undefined || sentUnit === reading.unit) return { quantity };
  return { quantity, asSent: { url: EXTENSIONS.asSent, valueQuantity: ucumQuantity(sentValue, UCUM[sentUnit]) } };
}

function coding(system: string, code: Code): Coding {
  return { system, code: code.code, display: code.display };
}

function categoryOf(category: Category): CodeableConcept[] {
  const display = category === 'vital-signs' ? 'Vital Signs' : 'Laboratory';
  return [{ coding: [{ system: SYSTEMS.observationCategory, code: category, display }], text: display }, { coding: [{ system: SYSTEMS.phdCategory, code: 'phd', display: 'PHD generated' }] }];
}

const FLAG_TEXT: Readonly<Record<string, string>> = { irregularHeartbeat: 'Irregular heartbeat detected', bodyMovement: 'Body movement during measurement' };

/** Flags a cuff reports (irregular heartbeat, body movement) as components coded by the platform. */
function flagComponents(reading: StoredReading): ObservationComponent[] {
  const components: ObservationComponent[] = [];
  for (const flag of ['irregularHeartbeat', 'bodyMovement']) {
    const value = reading.flags[flag];
    if (typeof value !== 'boolean') continue;
    components.push({ code: { coding: [{ system: SYSTEMS.readingFlags, code: flag, display: FLAG_TEXT[flag]! }], text: FLAG_TEXT[flag]! }, valueBoolean: value });
  }
  return components;
}

/** A meter's LO or HI: the value is its limit, so the true value is below or above it (§2.4). */
const COMPARATOR = { low: '<', high: '>' } as const;

function profilesOf(row: ObservationRow, viaGateway: boolean): { profile?: string[] } {
  const profile = [...(row.profile ? [row.profile] : []), ...(viaGateway ? [row.phdProfile] : [])];
  return profile.length > 0 ? { profile } : {};
}

function observationOf(reading: StoredReading, row: ObservationRow): Observation {
  const viaGateway = reading.gatewayId !== null;
  const extension: Extension[] = [];
  if (viaGateway) extension.push({ url: EXTENSIONS.gatewayDevice, valueReference: { reference: `Device/${fhirIdOf(reading.gatewayId!)}` } });
  if (row.part === 'glucose' && typeof reading.flags.mealContext === 'string') extension.push({ url: EXTENSIONS.mealContext, valueCode: reading.flags.mealContext });
  const observation: Observation = {
    resourceType: 'Observation',
    id: observationId(reading, row.part),
    meta: { ...profilesOf(row, viaGateway), lastUpdated: reading.receivedAt },
    ...(extension.length > 0 ? { extension } : {}),
    identifier: [{ system: SYSTEMS.phdObservationIdentifier, value: observationIdentifierValue(reading, row.part) }],
    status: 'final',
    category: categoryOf(row.category),
    code: { coding: [...row.loinc.map((code) => coding(SYSTEMS.loinc, code)), coding(SYSTEMS.mdc, row.mdc)], text: row.text },
    subject: { reference: `Patient/${fhirIdOf(reading.patientId)}` },
    effectiveDateTime: reading.measuredAtAsSent,
    issued: reading.receivedAt,
    device: { reference: `Device/${fhirIdOf(reading.deviceId)}` },
  };
  if (row.components) {
    const components: ObservationComponent[] = [];
    for (const component of row.components) {
      if (reading.values[component.field] === undefined) continue;
      const { quantity, asSent } = fieldQuantity(reading, row, component.field);
      components.push({
        ...(asSent ? { extension: [asSent] } : {}),
        code: { coding: [coding(SYSTEMS.loinc, component.loinc), coding(SYSTEMS.mdc, component.mdc)], text: component.loinc.display },
        valueQuantity: quantity,
      });
    }
    observation.component = [...components, ...flagComponents(reading)];
    return observation;
  }
  const { quantity, asSent } = fieldQuantity(reading, row, row.field);
  const outOfRange = reading.flags.outOfRange;
  if (outOfRange === 'low' || outOfRange === 'high') quantity.comparator = COMPARATOR[outOfRange];
  if (asSent) observation.extension = [...(observation.extension ?? []), asSent];
  observation.valueQuantity = quantity;
  return observation;
}

/** The Observations a stored reading becomes, in the table's order. */
export function observationsOf(reading: StoredReading): Observation[] {
  return OBSERVATION_TABLE[reading.kind].filter((row) => reading.values[row.field] !== undefined).map((row) => observationOf(reading, row));
}
