// The EHR connection's words for how the latest readings fared: a reading set aside before it was
// sent is counted as not sent, and its note is no problem of the connection; one set aside after
// the EHR took it, as marked entered in error there once the EHR has been told.
import { describe, expect, it } from '@jest/globals';
import { deliveryState } from '../../../console/src/delivery-state.js';

const delivery = (status: 'pending' | 'sending' | 'delivered' | 'failed' | 'withdrawn', lastError: string | null = null, attempts = 1, action: 'create' | 'retract' | 'reinstate' = 'create') => ({ status, lastError, attempts, action });

describe('the state of the deliveries to an EHR', () => {
  it('counts each status, waiting being pending and sending', () => {
    expect(deliveryState([delivery('delivered'), delivery('delivered'), delivery('pending'), delivery('sending'), delivery('failed', 'the EHR answered 422', 80)])).toEqual({
      sentence: 'Of the latest 5 readings: 2 delivered, 2 waiting, 1 failed.',
      problem: { attempts: 80, lastError: 'the EHR answered 422' },
    });
    expect(deliveryState([delivery('delivered')]).sentence).toBe('Of the latest 1 reading: 1 delivered, 0 waiting, 0 failed.');
  });

  it('says how many were not sent because their reading was set aside, and takes their note for no problem', () => {
    expect(deliveryState([delivery('delivered'), delivery('withdrawn', "set aside from the patient's record: device fault", 0)])).toEqual({
      sentence: 'Of the latest 2 readings: 1 delivered, 0 waiting, 0 failed, 1 not sent (set aside from the patient’s record).',
    });
    // A real problem after it is still named.
    expect(deliveryState([delivery('withdrawn', 'set aside', 0), delivery('pending', 'the EHR answered 503', 3)]).problem).toEqual({ attempts: 3, lastError: 'the EHR answered 503' });
  });

  it('counts a reading the EHR was told was entered in error apart from those delivered, and one being told as waiting', () => {
    expect(deliveryState([delivery('delivered'), delivery('delivered', null, 1, 'retract'), delivery('pending', null, 0, 'retract'), delivery('delivered', null, 1, 'reinstate')]).sentence).toBe(
      'Of the latest 4 readings: 2 delivered, 1 waiting, 0 failed, 1 marked entered in error in the EHR (set aside after it was sent).',
    );
  });
});
