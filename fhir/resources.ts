// Patients and devices as FHIR R4 Patient and Device resources. Devices follow the PHD IG's shape
// (PhdDevice for a measuring device, PhgDevice for a gateway: the type codes, the specialization)
// as far as the platform knows the facts, but claim neither profile: both require the firmware
// versions and (for a PHD) the manufacturer and model number, which the platform does not learn from
// every path a reading takes (README, "FHIR"). A CGM claims the HL7 CGM IG's CGM Device, which asks
// only for an identifier and a user-friendly name.
import type { Device as FhirDevice, Patient as FhirPatient } from '@medplum/fhirtypes';
import { isMeasurementKind, type DeviceProfile } from '../device-profiles/index.js';
import type { Device, Patient } from '../store/index.js';
import { fhirIdOf } from './ids.js';
import { MDC, PROFILES, SPECIALIZATIONS, SYSTEMS } from './vocabulary.js';

export function patientResource(patient: Patient): FhirPatient {
  return {
    resourceType: 'Patient',
    id: fhirIdOf(patient.id),
    meta: { lastUpdated: patient.updatedAt },
    // The platform's id first (its conditional creates and CGM summaries name it), then the patient's
    // numbers in other systems: the EHR's medical record number, which its chart is found by.
    identifier: [{ system: SYSTEMS.patientId, value: patient.id }, ...patient.identifiers.map(({ system, value }) => ({ system, value }))],
    active: true,
    name: [{ text: patient.name }],
    birthDate: patient.birthDate,
    // The language automated messages use, as FHIR says a patient's language (BCP 47 codes).
    ...(patient.language ? { communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: patient.language }] }, preferred: true }] } : {}),
  };
}

export interface DeviceFacts {
  device: Device;
  /** The patient the device is assigned to now, if any. */
  patientId: string | undefined;
  /** The model's profile when the device's model names one (manufacturer, model). */
  profile: DeviceProfile | undefined;
}

export function deviceResource({ device, patientId, profile }: DeviceFacts): FhirDevice {
  const gateway = device.kind === 'gateway';
  const type = gateway ? MDC.phg : MDC.phd;
  const specialization = isMeasurementKind(device.kind) && device.kind in SPECIALIZATIONS ? SPECIALIZATIONS[device.kind as keyof typeof SPECIALIZATIONS] : undefined;
  const modelName = profile?.model ?? device.model;
  const cgm = device.kind === 'cgm_glucose';
  const deviceName: NonNullable<FhirDevice['deviceName']> = [
    ...(modelName ? [{ name: modelName, type: 'model-name' as const }] : []),
    // The CGM IG's one required name: manufacturer and model as far as known.
    ...(cgm ? [{ name: [profile?.manufacturer, modelName].filter(Boolean).join(' ') || 'Continuous glucose monitor', type: 'user-friendly-name' as const }] : []),
  ];
  return {
    resourceType: 'Device',
    id: fhirIdOf(device.id),
    meta: { ...(cgm ? { profile: [PROFILES.cgmDevice] } : {}), lastUpdated: device.retiredAt ?? device.createdAt },
    identifier: [{ system: SYSTEMS.deviceId, value: device.id }],
    status: device.retiredAt ? 'inactive' : 'active',
    ...(profile ? { manufacturer: profile.manufacturer } : {}),
    ...(deviceName.length > 0 ? { deviceName } : {}),
    ...(modelName ? { modelNumber: modelName } : {}),
    type: { coding: [{ system: SYSTEMS.mdc, code: type.code, display: type.display }], text: gateway ? 'Personal health gateway' : 'Personal health device' },
    ...(specialization ? { specialization: [{ systemType: { coding: [{ system: SYSTEMS.mdc, code: specialization.code, display: specialization.display }] } }] } : {}),
    ...(patientId ? { patient: { reference: `Patient/${fhirIdOf(patientId)}` } } : {}),
    ...(device.gatewayId ? { parent: { reference: `Device/${fhirIdOf(device.gatewayId)}` } } : {}),
  };
}
