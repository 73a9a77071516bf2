// Readings a person entered for a patient, in the pipeline: the topic names the patient, no device is
// looked up, the reading is kept as `manual` with who entered it. Only the API's messages (and an
// admin's replay of their dead letters) may use that topic: a device publishing to it is refused,
// and a reading there that names a real device is refused too.
import { describe, expect, it } from '@jest/globals';
import { evaluateMessage, type DeviceDirectory } from '../../../ingest/evaluate.js';
import type { InboundMessage } from '../../../ingest/spool.js';

const reading = (overrides: Record<string, unknown> = {}) => ({ readingId: 'pt-9/form-1', deviceId: 'reported', kind: 'glucose', measuredAt: '2026-11-22T07:40:00-06:00', unit: 'mmol/L', value: 3.1, mealContext: 'fasting', ...overrides });
const message = (payload: unknown, source: InboundMessage['source'] = 'manual', principal: string | null = 'nurse-1'): InboundMessage => ({
  messageId: 'm-1',
  topic: 'rpm/v1/patients/pt-9/reported',
  payload: Buffer.from(JSON.stringify(payload)),
  principal,
  receivedAt: '2026-11-22T13:45:00.000Z',
  source,
});
let lookups = 0;
const directory: DeviceDirectory = {
  device: async () => {
    lookups += 1;
    return undefined;
  },
  patientAt: async () => {
    lookups += 1;
    return undefined;
  },
};
const context = () => ({ devices: directory, acceptedBefore: new Set<string>(), acceptedInBatch: new Set<string>() });

describe('readings entered by a person', () => {
  it('are the topic’s patient’s, kept as manual with who entered them, in canonical units, without asking the device directory', async () => {
    const evaluation = await evaluateMessage(message(reading()), context());
    expect(evaluation.deviceId).toBeUndefined();
    expect(evaluation.outcomes).toHaveLength(1);
    const outcome = evaluation.outcomes[0]!;
    expect(outcome.status).toBe('accepted');
    if (outcome.status !== 'accepted') return;
    expect(outcome.reading).toMatchObject({ patientId: 'pt-9', deviceId: 'reported', source: 'manual', gatewayId: null, flags: { mealContext: 'fasting', enteredBy: 'nurse-1' }, unit: 'mg/dL', original: { unit: 'mmol/L', values: { value: 3.1 } } });
    expect(outcome.reading.values.value).toBeCloseTo(55.85, 1);
    expect(lookups).toBe(0);
  });

  it('replayed from a dead letter: the patient’s still, with no one to name', async () => {
    const evaluation = await evaluateMessage(message(reading(), 'replay', null), context());
    expect(evaluation.outcomes[0]).toMatchObject({ status: 'accepted', reading: { patientId: 'pt-9', source: 'manual', flags: { mealContext: 'fasting' } } });
    expect((evaluation.outcomes[0] as { reading: { flags: object } }).reading.flags).not.toHaveProperty('enteredBy');
  });

  it('are refused from a device (a publish or a post to that topic) and when they name a real device', async () => {
    for (const source of ['mqtt', 'https'] as const) {
      const evaluation = await evaluateMessage(message(reading(), source, 'cuff-1'), context());
      expect(evaluation.outcomes).toEqual([expect.objectContaining({ status: 'rejected', code: 'RPM_ERR_NOT_A_READINGS_TOPIC' })]);
    }
    const named = await evaluateMessage(message(reading({ deviceId: 'cuff-1' })), context());
    expect(named.outcomes).toEqual([expect.objectContaining({ status: 'rejected', code: 'RPM_ERR_DEVICE_MISMATCH' })]);
  });

  it('are checked as a device’s are: the schema, plausibility and the clock, and a repeat is a duplicate', async () => {
    const implausible = await evaluateMessage(message(reading({ unit: 'mg/dL', value: 4000 })), context());
    expect(implausible.outcomes[0]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('/value') });
    const future = await evaluateMessage(message(reading({ measuredAt: '2026-11-22T15:00:00Z' })), context());
    expect(future.outcomes[0]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_FUTURE_TIMESTAMP' });
    const shared = context();
    const twice = await evaluateMessage(message({ readings: [reading(), reading()] }), shared);
    expect(twice.outcomes.map((o) => o.status)).toEqual(['accepted', 'duplicate']);
  });
});
