// The FHIR vocabulary the mapping uses: code systems, profiles, extensions and identifier systems.
// Sources: ../shared/reference/fhir.md (R4 vital-signs profiles, the HL7 Personal Health Device IG,
// US Core) and the IEEE 11073-10101 nomenclature (MDC codes: partition × 65536 + term code).
import { PLATFORM_PATIENT_SYSTEM } from '../store/index.js';

export const FHIR_VERSION = '4.0.1';
export const FHIR_JSON = 'application/fhir+json';

export const SYSTEMS = {
  loinc: 'http://loinc.org',
  mdc: 'urn:iso:std:iso:11073:10101',
  ucum: 'http://unitsofmeasure.org',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  phdCategory: 'http://hl7.org/fhir/uv/phd/CodeSystem/PhdObservationCategories',
  /** The PHD IG fixes this system for the identifier an observation is conditionally created on. */
  phdObservationIdentifier: 'http://hl7.org/fhir/uv/phd/StructureDefinition/PhdBaseObservation',
  /** The platform's own ids, as identifiers: stable whatever address the platform is reached at. */
  patientId: PLATFORM_PATIENT_SYSTEM,
  deviceId: 'urn:rpm-ingest:device',
  /** The platform's own codes for what no published code system names (reading flags). */
  readingFlags: 'urn:rpm-ingest:reading-flag',
  mealContext: 'urn:rpm-ingest:meal-context',
} as const;

export const EXTENSIONS = {
  /** R4 core extension: the gateway (PhgDevice) the reading came through. */
  gatewayDevice: 'http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice',
  /** The value and unit exactly as the device sent them, where the profile made us convert (kPa → mm[Hg]). */
  asSent: 'urn:rpm-ingest:extension:as-sent',
  /** Before a meal, after, fasting, at bedtime: the context a glucose meter recorded. */
  mealContext: 'urn:rpm-ingest:extension:meal-context',
} as const;

const R4 = 'http://hl7.org/fhir/StructureDefinition';
const PHD = 'http://hl7.org/fhir/uv/phd/StructureDefinition';
const CGM = 'http://hl7.org/fhir/uv/cgm/StructureDefinition';

export const PROFILES = {
  vitalSigns: `${R4}/vitalsigns`,
  bloodPressure: `${R4}/bp`,
  heartRate: `${R4}/heartrate`,
  oxygenSaturation: `${R4}/oxygensat`,
  bodyWeight: `${R4}/bodyweight`,
  bodyTemperature: `${R4}/bodytemp`,
  bmi: `${R4}/bmi`,
  phdNumeric: `${PHD}/PhdNumericObservation`,
  phdCompoundNumeric: `${PHD}/PhdCompoundNumericObservation`,
  phdDevice: `${PHD}/PhdDevice`,
  phgDevice: `${PHD}/PhgDevice`,
  /** HL7 CGM IG 1.0.0: a sensor reading by the unit of its value, and the sensor as a Device. */
  cgmSensorReadingMass: `${CGM}/cgm-sensor-reading-mass-per-volume`,
  cgmSensorReadingMoles: `${CGM}/cgm-sensor-reading-moles-per-volume`,
  cgmDevice: `${CGM}/cgm-device`,
} as const;

export interface Code {
  code: string;
  display: string;
}

/** IEEE 11073-10101 codes of what the platform measures. */
export const MDC = {
  bloodPressure: { code: '150020', display: 'MDC_PRESS_BLD_NONINV' },
  systolic: { code: '150021', display: 'MDC_PRESS_BLD_NONINV_SYS' },
  diastolic: { code: '150022', display: 'MDC_PRESS_BLD_NONINV_DIA' },
  meanArterial: { code: '150023', display: 'MDC_PRESS_BLD_NONINV_MEAN' },
  /** Pulse rate measured by a cuff (non-invasive). */
  cuffPulse: { code: '149546', display: 'MDC_PULS_RATE_NON_INV' },
  oximeterPulse: { code: '149530', display: 'MDC_PULS_OXIM_PULS_RATE' },
  /** A heart-rate sensor (Bluetooth Heart Rate Service: chest straps, ECG-derived). */
  heartRate: { code: '147842', display: 'MDC_ECG_HEART_RATE' },
  spo2: { code: '150456', display: 'MDC_PULS_OXIM_SAT_O2' },
  capillaryGlucose: { code: '160184', display: 'MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD' },
  /** ISO/IEEE 11073-10425 (CGM): glucose in interstitial fluid. */
  interstitialGlucose: { code: '160212', display: 'MDC_CONC_GLU_ISF' },
  bodyWeight: { code: '188736', display: 'MDC_MASS_BODY_ACTUAL' },
  bmi: { code: '188752', display: 'MDC_RATIO_MASS_BODY_LEN_SQ' },
  bodyTemperature: { code: '150364', display: 'MDC_TEMP_BODY' },
  /** PhdDevice.type: the device is a personal health device (fixed by the PHD IG). */
  phd: { code: '65573', display: 'MDC_MOC_VMS_MDS_SIMP' },
  /** PhgDevice.type: the device is a personal health gateway (fixed by the PHD IG). */
  phg: { code: '531981', display: 'MDC_MOC_VMS_MDS_AHD' },
} as const satisfies Record<string, Code>;

/** IEEE 11073-20601 device specializations (PhdDevice.specialization), per kind a device measures. */
export const SPECIALIZATIONS = {
  spo2: { code: '528388', display: 'MDC_DEV_SPEC_PROFILE_PULS_OXIM' },
  blood_pressure: { code: '528391', display: 'MDC_DEV_SPEC_PROFILE_BPM' },
  temperature: { code: '528392', display: 'MDC_DEV_SPEC_PROFILE_TEMP' },
  weight: { code: '528399', display: 'MDC_DEV_SPEC_PROFILE_SCALE' },
  glucose: { code: '528401', display: 'MDC_DEV_SPEC_PROFILE_GLUCOSE' },
} as const satisfies Record<string, Code>;
