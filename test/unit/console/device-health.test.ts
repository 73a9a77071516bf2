// A device's health in words on the devices page: silent once an assigned device has sent nothing for
// the missing-readings rules' 72 hours (clinical-billing.md §5), a low battery at 20 % or less.
import { describe, expect, it } from '@jest/globals';
import { agoText, batteryText, silentDays } from '../../../console/src/device-health.js';

const now = Date.parse('2026-12-06T12:00:00Z');
const hours = (n: number) => new Date(now - n * 3_600_000).toISOString();
const assignedFrom = (at: string) => ({ patientId: 'p', patientName: 'Ada', assignedFrom: at, assignedUntil: null });

describe('a device on the devices page', () => {
  it('is silent from 72 hours without a reading, counted in whole days', () => {
    const assignment = assignedFrom('2026-11-01T00:00:00Z');
    expect(silentDays({ assignment, lastMeasuredAt: hours(71.9) }, now)).toBeUndefined();
    expect(silentDays({ assignment, lastMeasuredAt: hours(72) }, now)).toBe(3);
    expect(silentDays({ assignment, lastMeasuredAt: hours(24 * 9 + 5) }, now)).toBe(9);
  });

  it('is never silent in stock or before its assignment starts; one that sent nothing since it was handed over is counted from then', () => {
    expect(silentDays({ assignment: null, lastMeasuredAt: hours(500) }, now)).toBeUndefined();
    expect(silentDays({ assignment: assignedFrom(hours(-24)), lastMeasuredAt: null }, now)).toBeUndefined();
    expect(silentDays({ assignment: assignedFrom(hours(48)), lastMeasuredAt: null }, now)).toBeUndefined();
    expect(silentDays({ assignment: assignedFrom(hours(100)), lastMeasuredAt: null }, now)).toBe(4);
    // Its last reading was the patient's before: silent only from the day it changed hands.
    expect(silentDays({ assignment: assignedFrom(hours(24)), lastMeasuredAt: hours(240) }, now)).toBeUndefined();
    expect(silentDays({ assignment: assignedFrom(hours(80)), lastMeasuredAt: hours(240) }, now)).toBe(3);
  });

  it('says how long ago in days, hours or within the hour', () => {
    expect(agoText(59 * 60_000)).toBe('within the hour');
    expect(agoText(3_600_000)).toBe('1 hour ago');
    expect(agoText(23.5 * 3_600_000)).toBe('23 hours ago');
    expect(agoText(86_400_000)).toBe('1 day ago');
    expect(agoText(50 * 3_600_000)).toBe('2 days ago');
  });

  it('gives the battery in percent (low at 20 % or less), else in volts, with the signal and when', () => {
    const at = () => 'Dec 6';
    const status = { reportedAt: '2026-12-06T08:00:00Z', source: 'tenovi', batteryPercent: 21, batteryVoltage: null, signalRssi: null, details: {} };
    expect(batteryText(status, at)).toBe('21 %, reported Dec 6');
    expect(batteryText({ ...status, batteryPercent: 20 }, at)).toBe('20 % (low), reported Dec 6');
    expect(batteryText({ ...status, source: 'bodytrace', batteryPercent: null, batteryVoltage: 5.9, signalRssi: 70 }, at)).toBe('5.9 V, signal 70, reported Dec 6');
    expect(batteryText({ ...status, source: 'nightscout', batteryPercent: null, details: { sensorStatusCode: 5 } }, at)).toBe('');
    expect(batteryText(null, at)).toBe('');
  });
});
