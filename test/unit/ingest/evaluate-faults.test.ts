// Evaluation never throws on a message's account: deep nesting is refused before anything
// recursive runs, an unforeseen error ends the item as a dead letter with the error named, and only
// a directory that cannot answer (the store down) is passed up, so the batch is retried.
import { describe, expect, it } from '@jest/globals';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../../device-profiles/index.js';
import { DirectoryUnavailable, evaluateMessage, type DeviceDirectory } from '../../../ingest/evaluate.js';
import type { InboundMessage } from '../../../ingest/spool.js';

const DEVICE = 'cuff-1';
const reading = (readingId: string) => ({ readingId, deviceId: DEVICE, kind: 'blood_pressure', measuredAt: '2026-11-22T08:14:03-05:00', systolic: 142, diastolic: 91, pulse: 77, unit: 'mmHg' });
const message = (payload: string): InboundMessage => ({ messageId: 'm-1', topic: `rpm/v1/devices/${DEVICE}/readings`, payload: Buffer.from(payload), principal: DEVICE, receivedAt: '2026-11-22T13:20:00.000Z', source: 'mqtt' });
const assigned: DeviceDirectory = {
  device: async () => ({ id: DEVICE, kind: 'blood_pressure', retiredAt: null }),
  patientAt: async () => 'patient-1',
};
const context = (devices: DeviceDirectory) => ({ devices, acceptedBefore: new Set<string>(), acceptedInBatch: new Set<string>() });

describe('JSON nesting depth', () => {
  it('counts nesting of arrays and objects, not brackets inside strings', () => {
    expect(exceedsJsonDepth('[[[1]]]', 3)).toBe(false);
    expect(exceedsJsonDepth('[[[[1]]]]', 3)).toBe(true);
    expect(exceedsJsonDepth('{"a":{"b":{"c":1}}}', 3)).toBe(false);
    expect(exceedsJsonDepth('{"a":"[[[[[[[[","b":"\\"[[[[["}', 1)).toBe(false);
    expect(exceedsJsonDepth(Buffer.from('[{"a":[{"b":1}]}]'), 3)).toBe(true);
    expect(exceedsJsonDepth(JSON.stringify({ readings: [reading('r')] }))).toBe(false);
    expect(exceedsJsonDepth('['.repeat(MAX_JSON_DEPTH + 1))).toBe(true);
  });
});

describe('evaluation faults', () => {
  it('refuses a reading nested 5,000 deep with RPM_ERR_TOO_DEEP before parsing it', async () => {
    const evaluation = await evaluateMessage(message(`${'['.repeat(5000)}${']'.repeat(5000)}`), context(assigned));
    expect(evaluation.outcomes).toEqual([expect.objectContaining({ status: 'rejected', code: 'RPM_ERR_TOO_DEEP', index: null })]);
  });

  it('dead-letters an item whose evaluation fails unexpectedly, naming the error, and goes on with the rest of the batch', async () => {
    let calls = 0;
    const flaky: DeviceDirectory = {
      ...assigned,
      peek: () => {
        calls += 1;
        if (calls === 1) throw new TypeError('cannot read properties of undefined');
        return { device: { id: DEVICE, kind: 'blood_pressure', retiredAt: null }, patientAt: () => 'patient-1' };
      },
    };
    const evaluation = await evaluateMessage(message(JSON.stringify({ readings: [reading('a'), reading('b')] })), context(flaky));
    expect(evaluation.outcomes[0]).toEqual(expect.objectContaining({ status: 'rejected', readingId: 'a', code: 'RPM_ERR_EVALUATION_FAILED', index: 0 }));
    expect((evaluation.outcomes[0] as { reason: string }).reason).toMatch(/TypeError: cannot read properties of undefined/);
    expect(JSON.parse((evaluation.outcomes[0] as { rawItem: Buffer }).rawItem.toString())).toEqual(reading('a'));
    expect(evaluation.outcomes[1]).toEqual(expect.objectContaining({ status: 'accepted', readingId: 'b' }));
  });

  it('passes up a directory that cannot answer, so the batch is retried rather than dead-lettered', async () => {
    const down: DeviceDirectory = { device: async () => Promise.reject(new Error('connection refused')), patientAt: async () => undefined };
    await expect(evaluateMessage(message(JSON.stringify(reading('c'))), context(down))).rejects.toBeInstanceOf(DirectoryUnavailable);
  });
});
