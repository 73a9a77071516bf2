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
  /** The profile it claims whichever way the reading came: R4 vital-signs, or the HL7 CGM IG's sensor reading (none for a meter's glucose). */
  profile?: string;
  /** The PHD profile it claims when the reading came through a gateway. */
  phdProfile: string;
  /** Units the value may keep as the device sent it; any other is sent converted, with the original beside it. */
  unitsKeptAsSent: readonly WireUnit[];
  /**
   * Only readings sent in these units become this row's Observation: glucose is coded by what the
   * value measures, mass (mg/dL) or moles (mmol/L), as LOINC's property says; a code for one with a
   * value in the other would have an EHR read 6.7 mmol/L under a mg/dL concept.
   */
  sentUnits?: readonly WireUnit[];
  /** How Quantity.unit is written where the profile fixes it (the CGM IG: "mg/dl", "mmol/l"). */
  unitText?: Readonly<Record<string, string>>;
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
  capillaryGlucoseMoles: { code: '14743-9', display: 'Glucose [Moles/volume] in Capillary blood by Glucometer' },
  /** The HL7 CGM IG's sensor readings (fhir.md), by the unit of the value. */
  interstitialGlucose: { code: '99504-3', display: 'Glucose [Mass/volume] in Interstitial fluid' },
  interstitialGlucoseMoles: { code: '105272-9', display: 'Glucose [Moles/volume] in Interstitial fluid' },
  bodyWeight: { code: '29463-7', display: 'Body weight' },
  bmi: { code: '39156-5', display: 'Body mass index (BMI) [Ratio]' },
  bodyTemperature: { code: '8310-5', display: 'Body temperature' },
} as const satisfies Record<string, Code>;

function heartRateRow(field: string, mdc: Code): ObservationRow {
  return { part: field === 'value' ? 'heart-rate' : 'pulse', field, category: 'vital-signs', loinc: [LOINC.heartRate], mdc, text: 'Heart rate', profile: PROFILES.heartRate, phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['/min'] };
}

/** A CGM's sensor reading: the IG fixes the unit's text as it writes it. */
const CGM_ROW = { part: 'cgm-glucose', field: 'value', category: 'laboratory', mdc: MDC.interstitialGlucose, text: 'Glucose in interstitial fluid by continuous glucose monitor', phdProfile: PROFILES.phdNumeric, unitText: { 'mg/dL': 'mg/dl', 'mmol/L': 'mmol/l' } } as const;

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
    { part: 'glucose', field: 'value', category: 'laboratory', loinc: [LOINC.capillaryGlucose], mdc: MDC.capillaryGlucose, text: 'Glucose in capillary blood by glucometer', phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['mg/dL'], sentUnits: ['mg/dL'] },
    { part: 'glucose', field: 'value', category: 'laboratory', loinc: [LOINC.capillaryGlucoseMoles], mdc: MDC.capillaryGlucose, text: 'Glucose in capillary blood by glucometer', phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['mmol/L'], sentUnits: ['mmol/L'] },
  ],
  weight: [
    { part: 'weight', field: 'value', category: 'vital-signs', loinc: [LOINC.bodyWeight], mdc: MDC.bodyWeight, text: 'Body weight', profile: PROFILES.bodyWeight, phdProfile: PROFILES.phdNumeric, unitsKeptAsSent: ['kg', 'lb', 'g'] },
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
  cgm_glucose: [
    { ...CGM_ROW, loinc: [LOINC.interstitialGlucose], profile: PROFILES.cgmSensorReadingMass, unitsKeptAsSent: ['mg/dL'], sentUnits: ['mg/dL'] },
    { ...CGM_ROW, loinc: [LOINC.interstitialGlucoseMoles], profile: PROFILES.cgmSensorReadingMoles, unitsKeptAsSent: ['mmol/L'], sentUnits: ['mmol/L'] },
  ],
};

/** UCUM codes of the units the platform stores that are not wire units. */
const FIXED_UNITS: Readonly<Record<string, { ucum: string; unit: string }>> = {
  pulse: { ucum: '/min', unit: 'beats/minute' },
  bmi: { ucum: 'kg/m2', unit: 'kg/m2' },
};

/** How people write each UCUM code (Quantity.unit). */
const UNIT_TEXT: Readonly<Record<string, string>> = { 'mm[Hg]': 'mmHg', '[lb_av]': 'lb', Cel: '°C', '[degF]': '°F', '/min': 'beats/minute' };

/** A quantity as the mapping decided it: value and UCUM code, and what was sent where it was converted. */
interface FieldValue {
  value: number;
  ucum: string;
  asSent?: { value: number; ucum: string };
}

/** A meter's LO or HI: the value is its limit, so the true value is below or above it (§2.4). */
const COMPARATOR = { low: '<', high: '>' } as const;
type Comparator = (typeof COMPARATOR)[keyof typeof COMPARATOR];

function unitWritten(ucum: string, row?: ObservationRow): string {
  return row?.unitText?.[ucum] ?? UNIT_TEXT[ucum] ?? ucum;
}

function ucumQuantity(value: number, ucum: string, comparator?: Comparator, row?: ObservationRow): Quantity {
  return { value, ...(comparator ? { comparator } : {}), unit: unitWritten(ucum, row), system: SYSTEMS.ucum, code: ucum };
}

/**
 * A field's value: as the device sent it when the profile takes that unit (an EHR shows what the
 * patient saw on the device), else in the canonical unit with the sent value kept beside it.
 */
function fieldValue(reading: StoredReading, row: ObservationRow, field: string): FieldValue {
  const fixed = FIXED_UNITS[field];
  if (fixed) return { value: reading.values[field]!, ucum: fixed.ucum };
  const sentUnit = reading.original.unit as WireUnit;
  const sentValue = reading.original.values[field];
  if (sentValue !== undefined && row.unitsKeptAsSent.includes(sentUnit)) return { value: sentValue, ucum: UCUM[sentUnit] };
  const canonical = { value: reading.values[field]!, ucum: UCUM[reading.unit as WireUnit] };
  return sentValue === undefined || sentUnit === reading.unit ? canonical : { ...canonical, asSent: { value: sentValue, ucum: UCUM[sentUnit] } };
}

function asSentExtension(asSent: NonNullable<FieldValue['asSent']>): Extension {
  return { url: EXTENSIONS.asSent, valueQuantity: ucumQuantity(asSent.value, asSent.ucum) };
}

function comparatorOf(reading: StoredReading): Comparator | undefined {
  const outOfRange = reading.flags.outOfRange;
  return outOfRange === 'low' || outOfRange === 'high' ? COMPARATOR[outOfRange] : undefined;
}

function coding(system: string, code: Code): Coding {
  return { system, code: code.code, display: code.display };
}

function categoryOf(category: Category): CodeableConcept[] {
  const display = category === 'vital-signs' ? 'Vital Signs' : 'Laboratory';
  return [{ coding: [{ system: SYSTEMS.observationCategory, code: category, display }], text: display }, { coding: [{ system: SYSTEMS.phdCategory, code: 'phd', display: 'PHD generated' }] }];
}

/**
 * What every Observation of a row has in common, built once: the search API renders hundreds of
 * Observations per request, and building these per Observation was most of its time (bench/api.ts).
 * Shared, never changed: every Observation refers to the same objects.
 */
interface RowParts {
  category: CodeableConcept[];
  code: CodeableConcept;
  componentCodes: CodeableConcept[];
  profiles: { direct?: string[]; viaGateway: string[] };
}

const PARTS = new Map<ObservationRow, RowParts>();

function partsOf(row: ObservationRow): RowParts {
  let parts = PARTS.get(row);
  if (!parts) {
    parts = {
      category: categoryOf(row.category),
      code: { coding: [...row.loinc.map((code) => coding(SYSTEMS.loinc, code)), coding(SYSTEMS.mdc, row.mdc)], text: row.text },
      componentCodes: (row.components ?? []).map((component) => ({ coding: [coding(SYSTEMS.loinc, component.loinc), coding(SYSTEMS.mdc, component.mdc)], text: component.loinc.display })),
      profiles: { ...(row.profile ? { direct: [row.profile] } : {}), viaGateway: [...(row.profile ? [row.profile] : []), row.phdProfile] },
    };
    PARTS.set(row, parts);
  }
  return parts;
}

/** Every code and category coding an Observation of the row carries (search narrows by them before building). */
export function rowCodings(row: ObservationRow): { codes: Coding[]; categories: Coding[] } {
  const parts = partsOf(row);
  return { codes: parts.code.coding!, categories: parts.category.flatMap((category) => category.coding ?? []) };
}

const FLAG_TEXT: Readonly<Record<string, string>> = { irregularHeartbeat: 'Irregular heartbeat detected', bodyMovement: 'Body movement during measurement' };
const FLAG_CODES: Readonly<Record<string, CodeableConcept>> = Object.fromEntries(Object.entries(FLAG_TEXT).map(([flag, text]) => [flag, { coding: [{ system: SYSTEMS.readingFlags, code: flag, display: text }], text }]));

/** Flags a cuff reports (irregular heartbeat, body movement) as components coded by the platform. */
function flagComponents(reading: StoredReading): ObservationComponent[] {
  const components: ObservationComponent[] = [];
  for (const flag of ['irregularHeartbeat', 'bodyMovement']) {
    const value = reading.flags[flag];
    if (typeof value !== 'boolean') continue;
    components.push({ code: FLAG_CODES[flag]!, valueBoolean: value });
  }
  return components;
}

/** FHIR's dateTime with a time (R4 datatypes): upper-case T and Z, at most 9 decimals, an offset up to 14:00. */
const FHIR_DATE_TIME = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;

/**
 * When the reading was measured, with the offset it came with. RFC 3339 also allows what FHIR does
 * not (a lower-case `t` or `z`, more decimals): such a time is written upper-case, and one FHIR still
 * cannot take is written as the UTC instant.
 */
export function effectiveDateTime(reading: Pick<StoredReading, 'measuredAt' | 'measuredAtAsSent'>): string {
  const sent = reading.measuredAtAsSent;
  if (FHIR_DATE_TIME.test(sent)) return sent;
  const upper = sent.toUpperCase();
  return FHIR_DATE_TIME.test(upper) ? upper : reading.measuredAt;
}

function observationOf(reading: StoredReading, row: ObservationRow): Observation {
  const parts = partsOf(row);
  const viaGateway = reading.gatewayId !== null;
  const main = row.components ? undefined : fieldValue(reading, row, row.field);
  const extension: Extension[] = [];
  if (viaGateway) extension.push({ url: EXTENSIONS.gatewayDevice, valueReference: { reference: `Device/${fhirIdOf(reading.gatewayId!)}` } });
  if (row.part === 'glucose' && typeof reading.flags.mealContext === 'string') extension.push({ url: EXTENSIONS.mealContext, valueCode: reading.flags.mealContext });
  if (main?.asSent) extension.push(asSentExtension(main.asSent));
  const profile = viaGateway ? parts.profiles.viaGateway : parts.profiles.direct;
  const observation: Observation = {
    resourceType: 'Observation',
    id: observationId(reading, row.part),
    meta: { ...(profile ? { profile } : {}), lastUpdated: reading.receivedAt },
    ...(extension.length > 0 ? { extension } : {}),
    identifier: [{ system: SYSTEMS.phdObservationIdentifier, value: observationIdentifierValue(reading, row.part) }],
    status: 'final',
    category: parts.category,
    code: parts.code,
    subject: { reference: `Patient/${fhirIdOf(reading.patientId)}` },
    effectiveDateTime: effectiveDateTime(reading),
    issued: reading.receivedAt,
    // Entered by a person: the patient measured it on a meter of their own, no device of ours sent it.
    ...(reading.source === 'manual' ? { performer: [{ reference: `Patient/${fhirIdOf(reading.patientId)}` }] } : { device: { reference: `Device/${fhirIdOf(reading.deviceId)}` } }),
  };
  if (main) {
    observation.valueQuantity = ucumQuantity(main.value, main.ucum, comparatorOf(reading), row);
    return observation;
  }
  const components: ObservationComponent[] = [];
  row.components!.forEach((component, index) => {
    if (reading.values[component.field] === undefined) return;
    const value = fieldValue(reading, row, component.field);
    components.push({ ...(value.asSent ? { extension: [asSentExtension(value.asSent)] } : {}), code: parts.componentCodes[index]!, valueQuantity: ucumQuantity(value.value, value.ucum) });
  });
  observation.component = [...components, ...flagComponents(reading)];
  return observation;
}

/**
 * The JSON text of `observationOf(reading, row)`, byte for byte, written directly: searches and
 * exports render hundreds of thousands of Observations, and building each as objects and then
 * serializing it was most of their time (bench/api.ts). The constant parts are serialized once per
 * row; a test holds the two to the same text for every shape (test/unit/fhir/observations.test.ts).
 */
export function observationJson(reading: StoredReading, row: ObservationRow): { id: string; json: string } {
  const text = textOf(row);
  const viaGateway = reading.gatewayId !== null;
  const main = row.components ? undefined : fieldValue(reading, row, row.field);
  const extensions: string[] = [];
  if (viaGateway) extensions.push(`{"url":"${EXTENSIONS.gatewayDevice}","valueReference":{"reference":${JSON.stringify(`Device/${fhirIdOf(reading.gatewayId!)}`)}}}`);
  if (row.part === 'glucose' && typeof reading.flags.mealContext === 'string') extensions.push(`{"url":"${EXTENSIONS.mealContext}","valueCode":${JSON.stringify(reading.flags.mealContext)}}`);
  if (main?.asSent) extensions.push(asSentJson(main.asSent));
  const id = observationId(reading, row.part);
  const receivedAt = JSON.stringify(reading.receivedAt);
  let json = `{"resourceType":"Observation","id":"${id}","meta":{${viaGateway ? text.viaGatewayProfile : text.directProfile}"lastUpdated":${receivedAt}}`;
  if (extensions.length > 0) json += `,"extension":[${extensions.join(',')}]`;
  json += `,"identifier":[{"system":"${SYSTEMS.phdObservationIdentifier}","value":${JSON.stringify(observationIdentifierValue(reading, row.part))}}],"status":"final"${text.categoryAndCode}`;
  const subject = JSON.stringify(`Patient/${fhirIdOf(reading.patientId)}`);
  json += `,"subject":{"reference":${subject}},"effectiveDateTime":${JSON.stringify(effectiveDateTime(reading))},"issued":${receivedAt}`;
  json += reading.source === 'manual' ? `,"performer":[{"reference":${subject}}]` : `,"device":{"reference":${JSON.stringify(`Device/${fhirIdOf(reading.deviceId)}`)}}`;
  if (main) return { id, json: `${json},"valueQuantity":${quantityJson(main.value, main.ucum, comparatorOf(reading), row)}}` };
  const components: string[] = [];
  row.components!.forEach((component, index) => {
    if (reading.values[component.field] === undefined) return;
    const value = fieldValue(reading, row, component.field);
    components.push(`{${value.asSent ? `"extension":[${asSentJson(value.asSent)}],` : ''}"code":${text.componentCodes[index]},"valueQuantity":${quantityJson(value.value, value.ucum)}}`);
  });
  for (const flag of ['irregularHeartbeat', 'bodyMovement']) {
    const value = reading.flags[flag];
    if (typeof value === 'boolean') components.push(`{"code":${text.flagCodes[flag]},"valueBoolean":${value}}`);
  }
  return { id, json: `${json},"component":[${components.join(',')}]}` };
}

/** A number as JSON writes it (finite: the readings' values always are). */
function numberJson(value: number): string {
  return JSON.stringify(value);
}

function quantityJson(value: number, ucum: string, comparator?: Comparator, row?: ObservationRow): string {
  return `{"value":${numberJson(value)}${comparator ? `,"comparator":"${comparator}"` : ''},"unit":${JSON.stringify(unitWritten(ucum, row))},"system":"${SYSTEMS.ucum}","code":${JSON.stringify(ucum)}}`;
}

function asSentJson(asSent: NonNullable<FieldValue['asSent']>): string {
  return `{"url":"${EXTENSIONS.asSent}","valueQuantity":${quantityJson(asSent.value, asSent.ucum)}}`;
}

/** A row's constant parts as JSON text, serialized once. */
interface RowText {
  directProfile: string;
  viaGatewayProfile: string;
  categoryAndCode: string;
  componentCodes: string[];
  flagCodes: Readonly<Record<string, string>>;
}

const TEXTS = new Map<ObservationRow, RowText>();

function textOf(row: ObservationRow): RowText {
  let text = TEXTS.get(row);
  if (!text) {
    const parts = partsOf(row);
    text = {
      directProfile: parts.profiles.direct ? `"profile":${JSON.stringify(parts.profiles.direct)},` : '',
      viaGatewayProfile: `"profile":${JSON.stringify(parts.profiles.viaGateway)},`,
      categoryAndCode: `,"category":${JSON.stringify(parts.category)},"code":${JSON.stringify(parts.code)}`,
      componentCodes: parts.componentCodes.map((code) => JSON.stringify(code)),
      flagCodes: Object.fromEntries(Object.entries(FLAG_CODES).map(([flag, code]) => [flag, JSON.stringify(code)])),
    };
    TEXTS.set(row, text);
  }
  return text;
}

/** Whether a reading becomes the row's Observation: it has the row's field, sent in a unit the row codes. */
function rowApplies(reading: StoredReading, row: ObservationRow): boolean {
  return reading.values[row.field] !== undefined && (!row.sentUnits || row.sentUnits.includes(reading.original.unit as WireUnit));
}

/** An Observation of a reading and its place among the reading's (the table's order), for paging. */
export interface NumberedObservation {
  part: number;
  observation: Observation;
}

/** The Observations of a reading whose rows `wanted` keeps (all by default), built only for those. */
export function numberedObservationsOf(reading: StoredReading, wanted?: (row: ObservationRow) => boolean): NumberedObservation[] {
  const numbered: NumberedObservation[] = [];
  OBSERVATION_TABLE[reading.kind].forEach((row, part) => {
    if (rowApplies(reading, row) && (!wanted || wanted(row))) numbered.push({ part, observation: observationOf(reading, row) });
  });
  return numbered;
}

/** The Observations a stored reading becomes, in the table's order. */
export function observationsOf(reading: StoredReading): Observation[] {
  return numberedObservationsOf(reading).map(({ observation }) => observation);
}

/** The JSON text of a reading's Observations whose rows `wanted` keeps, with their ids and places. */
export function numberedObservationJsonOf(reading: StoredReading, wanted?: (row: ObservationRow) => boolean): { part: number; id: string; json: string }[] {
  const numbered: { part: number; id: string; json: string }[] = [];
  OBSERVATION_TABLE[reading.kind].forEach((row, part) => {
    if (rowApplies(reading, row) && (!wanted || wanted(row))) numbered.push({ part, ...observationJson(reading, row) });
  });
  return numbered;
}
