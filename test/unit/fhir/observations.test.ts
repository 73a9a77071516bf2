// Every reading kind as FHIR Observations: valid R4, valid against the vital-signs profile it claims
// (Medplum's validator), valid UCUM (ucum-lhc), and the PHD rules the validator cannot check asserted
// here (../shared/reference/fhir.md).
import { describe, expect, it } from '@jest/globals';
import type { Observation, Quantity } from '@medplum/fhirtypes';
import { KINDS, type StoredReading } from '../../../device-profiles/index.js';
import { OBSERVATION_TABLE, effectiveDateTime, numberedObservationJsonOf, numberedObservationsOf, observationsOf } from '../../../fhir/observations.js';
import { instantOfObservationId } from '../../../fhir/ids.js';
import { fhirErrors, isValidUcum } from '../../support/fhir-validator.js';
import { storedReading } from '../store/stored-reading.js';

const VIA_GATEWAY = { gatewayId: 'hub:01', source: 'gateway' as const };
const KIND_UNITS: Record<string, string> = { blood_pressure: 'mmHg', glucose: 'mg/dL', weight: 'kg', spo2: '%', temperature: 'Cel', heart_rate: '/min', cgm_glucose: 'mg/dL' };

/** One fixture per kind and unit the devices send, straight and through a gateway. */
const FIXTURES: Record<string, StoredReading> = {
  'blood pressure in kPa with pulse and flags': storedReading(),
  'blood pressure in mmHg through a gateway': storedReading({ ...VIA_GATEWAY, deviceId: 'cuff-2', values: { systolic: 128, diastolic: 82, meanArterial: 97 }, flags: {}, original: { unit: 'mmHg', values: { systolic: 128, diastolic: 82, meanArterial: 97 } } }),
  'glucose in mg/dL before a meal': storedReading({ kind: 'glucose', deviceId: 'meter-1', unit: 'mg/dL', values: { value: 104 }, flags: { mealContext: 'before_meal' }, original: { unit: 'mg/dL', values: { value: 104 } } }),
  'CGM glucose in mmol/L with its trend': storedReading({ kind: 'cgm_glucose', deviceId: 'cgm-1', unit: 'mg/dL', values: { value: 127.9108 }, flags: { trend: 'Flat' }, original: { unit: 'mmol/L', values: { value: 7.1 } } }),
  'CGM glucose in mg/dL': storedReading({ kind: 'cgm_glucose', deviceId: 'cgm-2', unit: 'mg/dL', values: { value: 142 }, flags: {}, original: { unit: 'mg/dL', values: { value: 142 } } }),
  'glucose in mmol/L, the meter showing LO, through a gateway': storedReading({ ...VIA_GATEWAY, kind: 'glucose', deviceId: 'meter-2', unit: 'mg/dL', values: { value: 36.0312 }, flags: { outOfRange: 'low' }, original: { unit: 'mmol/L', values: { value: 2 } } }),
  'weight in lb with BMI through a gateway': storedReading({ ...VIA_GATEWAY, kind: 'weight', deviceId: 'scale-1', unit: 'kg', values: { value: 81.6466, bmi: 26.4 }, flags: {}, original: { unit: 'lb', values: { value: 180 } } }),
  'weight in kg': storedReading({ kind: 'weight', deviceId: 'scale-2', unit: 'kg', values: { value: 72.5 }, flags: {}, original: { unit: 'kg', values: { value: 72.5 } } }),
  'SpO2 with pulse through a gateway': storedReading({ ...VIA_GATEWAY, kind: 'spo2', deviceId: 'oxi-1', unit: '%', values: { value: 94, pulse: 88 }, flags: {}, original: { unit: '%', values: { value: 94 } } }),
  'temperature in degF': storedReading({ kind: 'temperature', deviceId: 'thermo-1', unit: 'Cel', values: { value: 38.3333 }, flags: {}, original: { unit: 'degF', values: { value: 101 } } }),
  'temperature in Cel through a gateway': storedReading({ ...VIA_GATEWAY, kind: 'temperature', deviceId: 'thermo-2', unit: 'Cel', values: { value: 36.8 }, flags: {}, original: { unit: 'Cel', values: { value: 36.8 } } }),
  'heart rate': storedReading({ kind: 'heart_rate', deviceId: 'strap-1', unit: '/min', values: { value: 61 }, flags: {}, original: { unit: '/min', values: { value: 61 } } }),
};

const LOINC = 'http://loinc.org';
const MDC = 'urn:iso:std:iso:11073:10101';
const R4 = 'http://hl7.org/fhir/StructureDefinition';
const PHD = 'http://hl7.org/fhir/uv/phd/StructureDefinition';
const CGM_IG = 'http://hl7.org/fhir/uv/cgm/StructureDefinition';

function codes(observation: Observation, system: string): string[] {
  return (observation.code.coding ?? []).filter((coding) => coding.system === system).map((coding) => coding.code!);
}

function quantities(observation: Observation): Quantity[] {
  return [observation.valueQuantity, ...(observation.component ?? []).map((component) => component.valueQuantity)].filter((quantity): quantity is Quantity => quantity !== undefined);
}

describe('readings as FHIR Observations', () => {
  const all = Object.entries(FIXTURES).flatMap(([name, reading]) => observationsOf(reading).map((observation) => ({ name, reading, observation })));

  it('maps every kind in the vocabulary', () => {
    expect(new Set(Object.values(FIXTURES).map((reading) => reading.kind))).toEqual(new Set(Object.keys(OBSERVATION_TABLE)));
  });

  it.each(all.map(({ name, observation }) => [`${name}: ${observation.code.text}`, observation] as const))('%s is valid R4 and valid against the profiles it claims', (_name, observation) => {
    expect(fhirErrors(observation)).toEqual([]);
    for (const profile of observation.meta?.profile ?? []) {
      // The validator cannot check the R4 bp profile's nested slices (fhir.md); asserted below. PHD
      // profiles are not loaded in the validator (not in the repository), nor the CGM IG's (published
      // as FSH only); their rules are asserted below.
      if (profile === `${R4}/bp` || profile.startsWith(PHD) || profile.startsWith(CGM_IG)) continue;
      expect(fhirErrors(observation, profile)).toEqual([]);
    }
  });

  it.each(all.map(({ name, observation }) => [`${name}: ${observation.code.text}`, observation] as const))('%s has valid UCUM codes', (_name, observation) => {
    const units = quantities(observation);
    expect(units.length).toBeGreaterThan(0);
    for (const quantity of units) {
      expect(quantity.system).toBe('http://unitsofmeasure.org');
      expect(isValidUcum(quantity.code!)).toBe(true);
    }
  });

  it('every Observation follows the PHD base rules: final, subject, device, phd category, MDC code, the conditional-create identifier', () => {
    for (const { reading, observation } of all) {
      expect(observation.status).toBe('final');
      expect(observation.subject?.reference).toBe(`Patient/${reading.patientId}`);
      expect(observation.device?.reference).toBe(`Device/${reading.deviceId}`);
      expect(observation.category?.some((category) => category.coding?.some((coding) => coding.system === 'http://hl7.org/fhir/uv/phd/CodeSystem/PhdObservationCategories' && coding.code === 'phd'))).toBe(true);
      expect(codes(observation, MDC)).toHaveLength(1);
      expect(observation.identifier).toEqual([{ system: `${PHD}/PhdBaseObservation`, value: expect.stringMatching(new RegExp(`^${reading.deviceId}/${reading.readingId}/`)) }]);
      expect(observation.effectiveDateTime).toBe(reading.measuredAtAsSent);
      expect(observation.effectiveDateTime).toMatch(/T.*(Z|[+-]\d\d:\d\d)$/);
      expect(observation.issued).toBe(reading.receivedAt);
      expect(instantOfObservationId(observation.id!)).toBe(Date.parse(reading.measuredAt));
      const gateway = observation.extension?.filter((extension) => extension.url === 'http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice') ?? [];
      if (reading.gatewayId) {
        // PHD: the gateway extension is 1..1, so only readings that came through one claim the PHD profile.
        expect(gateway).toEqual([{ url: 'http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice', valueReference: { reference: 'Device/hub.c01' } }]);
        expect(observation.meta?.profile?.some((profile) => profile.startsWith(PHD))).toBe(true);
      } else {
        expect(gateway).toEqual([]);
        expect(observation.meta?.profile?.some((profile) => profile.startsWith(PHD)) ?? false).toBe(false);
      }
    }
  });

  it('ids and identifiers are stable and distinct: the same reading maps to the same resources, its parts to different ones', () => {
    const reading = FIXTURES['blood pressure in kPa with pulse and flags']!;
    const first = observationsOf(reading);
    expect(observationsOf(structuredClone(reading))).toEqual(first);
    expect(new Set(first.map((observation) => observation.id)).size).toBe(2);
    expect(new Set(all.map(({ observation }) => observation.id)).size).toBe(all.length);
    expect(observationsOf({ ...reading, readingId: 'r-2' })[0]!.id).not.toBe(first[0]!.id);
  });

  it('blood pressure: the R4 bp panel (85354-9, components 8480-6 and 8462-4 in mm[Hg]) with MDC codes; kPa kept beside the converted value', () => {
    const [panel, pulse] = observationsOf(FIXTURES['blood pressure in kPa with pulse and flags']!);
    expect(panel!.meta?.profile).toEqual([`${R4}/bp`]);
    expect(codes(panel!, LOINC)).toEqual(['85354-9']);
    expect(codes(panel!, MDC)).toEqual(['150020']);
    expect(panel!.valueQuantity).toBeUndefined();
    const [systolic, diastolic, irregular, movement] = panel!.component!;
    expect(systolic!.code.coding!.map((coding) => coding.code)).toEqual(['8480-6', '150021']);
    expect(systolic!.valueQuantity).toEqual({ value: 150, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
    expect(systolic!.extension).toEqual([{ url: 'urn:rpm-ingest:extension:as-sent', valueQuantity: { value: 20, unit: 'kPa', system: 'http://unitsofmeasure.org', code: 'kPa' } }]);
    expect(diastolic!.code.coding!.map((coding) => coding.code)).toEqual(['8462-4', '150022']);
    expect(diastolic!.valueQuantity?.value).toBe(90);
    expect(irregular).toMatchObject({ code: { coding: [{ code: 'irregularHeartbeat' }] }, valueBoolean: true });
    expect(movement).toMatchObject({ code: { coding: [{ code: 'bodyMovement' }] }, valueBoolean: false });
    // The cuff's pulse: its own heartrate Observation, MDC pulse rate non-invasive.
    expect(pulse!.meta?.profile).toEqual([`${R4}/heartrate`]);
    expect(codes(pulse!, LOINC)).toEqual(['8867-4']);
    expect(codes(pulse!, MDC)).toEqual(['149546']);
    expect(pulse!.valueQuantity).toEqual({ value: 70, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' });
  });

  it('blood pressure through a gateway: mean arterial pressure is a third component, the panel claims PhdCompoundNumericObservation', () => {
    const [panel] = observationsOf(FIXTURES['blood pressure in mmHg through a gateway']!);
    expect(panel!.meta?.profile).toEqual([`${R4}/bp`, `${PHD}/PhdCompoundNumericObservation`]);
    expect(panel!.component!.map((component) => [component.code.coding![0]!.code, component.valueQuantity?.value, component.extension])).toEqual([
      ['8480-6', 128, undefined],
      ['8462-4', 82, undefined],
      ['8478-0', 97, undefined],
    ]);
  });

  it('glucose: laboratory (not a vital sign), capillary LOINC and MDC, the unit as the meter sent it, LO as a "<" comparator, the meal context kept', () => {
    const [mgdl] = observationsOf(FIXTURES['glucose in mg/dL before a meal']!);
    expect(mgdl!.category![0]!.coding![0]!.code).toBe('laboratory');
    expect(mgdl!.meta?.profile).toBeUndefined();
    expect(codes(mgdl!, LOINC)).toEqual(['41653-7']);
    expect(codes(mgdl!, MDC)).toEqual(['160184']);
    expect(mgdl!.valueQuantity).toEqual({ value: 104, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
    expect(mgdl!.extension).toEqual([{ url: 'urn:rpm-ingest:extension:meal-context', valueCode: 'before_meal' }]);
    const [low] = observationsOf(FIXTURES['glucose in mmol/L, the meter showing LO, through a gateway']!);
    expect(low!.valueQuantity).toEqual({ value: 2, comparator: '<', unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' });
    expect(low!.meta?.profile).toEqual([`${PHD}/PhdNumericObservation`]);
    // A value in mmol/L under LOINC's moles concept, never the mass one (41653-7 is [Mass/volume]).
    expect(codes(low!, LOINC)).toEqual(['14743-9']);
    expect(codes(low!, MDC)).toEqual(['160184']);
    expect(low!.extension?.some((extension) => extension.url === 'urn:rpm-ingest:extension:as-sent')).toBe(false);
  });

  it("CGM sensor readings: the HL7 CGM IG's sensor-reading profile of the value's unit, its LOINC code and its fixed Quantity (profiles.fsh)", () => {
    const [mass] = observationsOf(FIXTURES['CGM glucose in mg/dL']!);
    const [moles] = observationsOf(FIXTURES['CGM glucose in mmol/L with its trend']!);
    expect(mass!.meta?.profile).toEqual([`${CGM_IG}/cgm-sensor-reading-mass-per-volume`]);
    expect(codes(mass!, LOINC)).toEqual(['99504-3']);
    expect(mass!.valueQuantity).toEqual({ value: 142, unit: 'mg/dl', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
    expect(moles!.meta?.profile).toEqual([`${CGM_IG}/cgm-sensor-reading-moles-per-volume`]);
    expect(codes(moles!, LOINC)).toEqual(['105272-9']);
    expect(moles!.valueQuantity).toEqual({ value: 7.1, unit: 'mmol/l', system: 'http://unitsofmeasure.org', code: 'mmol/L' });
    for (const observation of [mass!, moles!]) {
      // ObservationBase: subject 1..1; effectiveDateTime 1..1; category laboratory as the IG's examples.
      expect(observation.subject?.reference).toMatch(/^Patient\//);
      expect(observation.effectiveDateTime).toBeDefined();
      expect(codes(observation, MDC)).toEqual(['160212']);
      expect(observation.category![0]!.coding![0]!.code).toBe('laboratory');
      expect(observation.identifier![0]!.value).toMatch(/cgm-glucose$/);
    }
  });

  it('every unit a kind takes becomes exactly one Observation of its main value (glucose coded by the unit it was sent in)', () => {
    for (const kind of Object.keys(OBSERVATION_TABLE) as StoredReading['kind'][]) {
      for (const unit of KINDS[kind].units) {
        const field = KINDS[kind].requiredMeasured[0]!;
        const reading = storedReading({ kind, unit: KINDS[kind].canonicalUnit, values: Object.fromEntries(KINDS[kind].requiredMeasured.map((name) => [name, 100])), flags: {}, original: { unit, values: Object.fromEntries(KINDS[kind].requiredMeasured.map((name) => [name, 100])) } });
        const main = OBSERVATION_TABLE[kind].filter((row) => row.field === field);
        expect([kind, unit, numberedObservationsOf(reading, (row) => main.includes(row)).length]).toEqual([kind, unit, 1]);
      }
    }
  });

  it('weight in lb stays in [lb_av]; BMI is its own R4 bmi Observation in kg/m2', () => {
    const [weight, bmi] = observationsOf(FIXTURES['weight in lb with BMI through a gateway']!);
    expect(codes(weight!, LOINC)).toEqual(['29463-7']);
    expect(codes(weight!, MDC)).toEqual(['188736']);
    expect(weight!.valueQuantity).toEqual({ value: 180, unit: 'lb', system: 'http://unitsofmeasure.org', code: '[lb_av]' });
    expect(weight!.meta?.profile).toEqual([`${R4}/bodyweight`, `${PHD}/PhdNumericObservation`]);
    expect(codes(bmi!, LOINC)).toEqual(['39156-5']);
    expect(bmi!.valueQuantity).toEqual({ value: 26.4, unit: 'kg/m2', system: 'http://unitsofmeasure.org', code: 'kg/m2' });
  });

  it('SpO2: 2708-6 (R4 oxygensat) and 59408-5 (US Core) with MDC 150456 in %; the oximeter pulse is a heartrate Observation with MDC 149530', () => {
    const [spo2, pulse] = observationsOf(FIXTURES['SpO2 with pulse through a gateway']!);
    expect(codes(spo2!, LOINC)).toEqual(['2708-6', '59408-5']);
    expect(codes(spo2!, MDC)).toEqual(['150456']);
    expect(spo2!.valueQuantity).toEqual({ value: 94, unit: '%', system: 'http://unitsofmeasure.org', code: '%' });
    expect(codes(pulse!, MDC)).toEqual(['149530']);
    expect(pulse!.valueQuantity?.value).toBe(88);
  });

  it('temperature: 8310-5 and MDC 150364, °F kept as [degF], °C as Cel', () => {
    const [fahrenheit] = observationsOf(FIXTURES['temperature in degF']!);
    expect(codes(fahrenheit!, LOINC)).toEqual(['8310-5']);
    expect(codes(fahrenheit!, MDC)).toEqual(['150364']);
    expect(fahrenheit!.valueQuantity).toEqual({ value: 101, unit: '°F', system: 'http://unitsofmeasure.org', code: '[degF]' });
    const [celsius] = observationsOf(FIXTURES['temperature in Cel through a gateway']!);
    expect(celsius!.valueQuantity).toMatchObject({ value: 36.8, code: 'Cel' });
  });

  it('a heart-rate sensor: 8867-4 with MDC 147842 in /min', () => {
    const [heartRate] = observationsOf(FIXTURES['heart rate']!);
    expect(codes(heartRate!, LOINC)).toEqual(['8867-4']);
    expect(codes(heartRate!, MDC)).toEqual(['147842']);
    expect(heartRate!.valueQuantity?.code).toBe('/min');
  });

  it('keeps the measurement time as sent where FHIR can take it, written as FHIR writes it', () => {
    const at = (measuredAtAsSent: string) => effectiveDateTime({ measuredAt: '2026-11-20T08:00:00.000Z', measuredAtAsSent });
    expect(at('2026-11-20T03:00:00-05:00')).toBe('2026-11-20T03:00:00-05:00');
    expect(at('2026-11-20t08:00:00.5z')).toBe('2026-11-20T08:00:00.5Z');
    // RFC 3339 allows 10 decimals and an offset past 14:00; FHIR does not: the UTC instant is used.
    expect(at('2026-11-20T08:00:00.0000000001Z')).toBe('2026-11-20T08:00:00.000Z');
    expect(at('2026-11-20T23:00:00+15:00')).toBe('2026-11-20T08:00:00.000Z');
  });

  it('a reading a person entered: the patient as performer and no device, valid against the vital-signs profile it claims', () => {
    const entered = storedReading({ source: 'manual', deviceId: 'reported', readingId: 'pt_1/form-9', patientId: 'pt_1', gatewayId: null, kind: 'blood_pressure', unit: 'mmHg', values: { systolic: 150, diastolic: 92, pulse: 70 }, flags: { enteredBy: 'nurse-1' }, original: { unit: 'mmHg', values: { systolic: 150, diastolic: 92 } } });
    const [panel, pulse] = observationsOf(entered);
    for (const observation of [panel!, pulse!]) {
      expect(observation.device).toBeUndefined();
      expect(observation.performer).toEqual([{ reference: 'Patient/pt.u1' }]);
      expect(observation.meta?.profile?.some((profile) => profile.startsWith(PHD))).toBe(false);
      expect(fhirErrors(observation)).toEqual([]);
      // As above: the validator cannot check the R4 bp profile's nested slices; the heart rate's it can.
      for (const profile of observation.meta?.profile ?? []) if (profile !== `${R4}/bp`) expect(fhirErrors(observation, profile)).toEqual([]);
    }
    expect(pulse!.meta?.profile).toEqual([`${R4}/heartrate`]);
    // Who entered it is the platform's record (the reading's `enteredBy`, the audit), not a component.
    expect(JSON.stringify(panel)).not.toContain('nurse-1');
  });

  it('writes each Observation’s JSON directly, byte for byte what the objects serialize to, for every shape', () => {
    // Every fixture, and readings of every kind in many shapes: through a gateway or not, every unit,
    // LO/HI, flags true or false, meal contexts, ids that JSON must escape.
    const units: Record<string, string[]> = { blood_pressure: ['mmHg', 'kPa'], glucose: ['mg/dL', 'mmol/L'], weight: ['kg', 'lb'], spo2: ['%'], temperature: ['Cel', 'degF'], heart_rate: ['/min'], cgm_glucose: ['mg/dL', 'mmol/L'] };
    const readings = [...Object.values(FIXTURES)];
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 490; i += 1) {
      const kind = Object.keys(OBSERVATION_TABLE)[i % Object.keys(OBSERVATION_TABLE).length] as StoredReading['kind'];
      const sent = units[kind]![Math.floor(random() * units[kind]!.length)]!;
      const fields = kind === 'blood_pressure' ? ['systolic', 'diastolic', ...(random() < 0.5 ? ['meanArterial'] : [])] : ['value'];
      const values: Record<string, number> = Object.fromEntries(fields.map((field) => [field, Math.round(random() * 20000) / 100]));
      if ((kind === 'blood_pressure' || kind === 'spo2') && random() < 0.6) values.pulse = 40 + Math.floor(random() * 100);
      if (kind === 'weight' && random() < 0.5) values.bmi = 18 + Math.round(random() * 200) / 10;
      const flags: Record<string, string | boolean> = {};
      if (kind === 'blood_pressure' && random() < 0.5) flags.irregularHeartbeat = random() < 0.5;
      if (kind === 'blood_pressure' && random() < 0.5) flags.bodyMovement = random() < 0.5;
      if (kind === 'glucose' && random() < 0.5) flags.mealContext = 'after_meal';
      if (kind === 'glucose' && random() < 0.3) flags.outOfRange = random() < 0.5 ? 'low' : 'high';
      // One in seven entered by a person: no device, no gateway.
      const manual = kind !== 'cgm_glucose' && i % 7 === 3;
      readings.push(storedReading({ kind, ...(manual ? { source: 'manual' as const } : {}), deviceId: manual ? 'reported' : `dev_${i}:x.y`, readingId: `r"${i}\\é`, patientId: i % 3 === 0 ? 'pt_1' : 'p-2', gatewayId: !manual && random() < 0.5 ? 'hub:1' : null, measuredAtAsSent: i % 5 === 0 ? '2026-11-20t03:00:00.123456z' : '2026-11-20T03:00:00-05:00', unit: KIND_UNITS[kind]!, values, flags, original: { unit: sent, values: Object.fromEntries(fields.map((field) => [field, values[field]! * 1.5])) } }));
    }
    let compared = 0;
    for (const reading of readings) {
      const objects = numberedObservationsOf(reading);
      const texts = numberedObservationJsonOf(reading);
      expect(texts.map((text) => [text.part, text.id])).toEqual(objects.map((object) => [object.part, object.observation.id]));
      for (const [index, object] of objects.entries()) {
        expect(texts[index]!.json).toBe(JSON.stringify(object.observation));
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('the validator used here does catch a broken Observation (so a pass above means something)', () => {
    const [weight] = observationsOf(FIXTURES['weight in kg']!);
    const { subject: _subject, ...withoutSubject } = weight!;
    expect(fhirErrors(withoutSubject as Observation, `${R4}/bodyweight`).join()).toMatch(/subject/);
    expect(fhirErrors({ ...weight!, code: { coding: [{ system: LOINC, code: '8867-4' }] } }, `${R4}/bodyweight`).length).toBeGreaterThan(0);
    expect(isValidUcum('mmHg')).toBe(false);
  });
});
