// How a care team's latest readings fared on their way to its EHR, in words (the EHR connection).
import type { FhirDelivery } from './api-types.js';

/**
 * "Of the latest 12 readings: 10 delivered, 1 waiting, 0 failed, 1 not sent (set aside from the
 * patient's record).", and the last problem of the connection (a withdrawn delivery's note says its
 * reading was set aside: no problem of the connection).
 */
export function deliveryState(deliveries: readonly Pick<FhirDelivery, 'status' | 'lastError' | 'attempts'>[]): { sentence: string; problem?: { attempts: number; lastError: string } } {
  const count = (status: FhirDelivery['status']) => deliveries.filter((d) => d.status === status).length;
  const withdrawn = count('withdrawn');
  const sentence = `Of the latest ${deliveries.length} ${deliveries.length === 1 ? 'reading' : 'readings'}: ${count('delivered')} delivered, ${count('pending') + count('sending')} waiting, ${count('failed')} failed${withdrawn > 0 ? `, ${withdrawn} not sent (set aside from the patient’s record)` : ''}.`;
  const troubled = deliveries.find((d) => d.lastError !== null && d.status !== 'delivered' && d.status !== 'withdrawn');
  return troubled ? { sentence, problem: { attempts: troubled.attempts, lastError: troubled.lastError! } } : { sentence };
}
