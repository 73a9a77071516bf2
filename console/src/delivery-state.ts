// How a care team's latest readings fared on their way to its EHR, in words (the EHR connection).
import type { FhirDelivery } from './api-types.js';

/**
 * "Of the latest 12 readings: 9 delivered, 1 waiting, 0 failed, 1 not sent (set aside from the
 * patient's record), 1 marked entered in error in the EHR (set aside after it was sent).", and the
 * last problem of the connection (a withdrawn delivery's note says its reading was set aside: no
 * problem of the connection). A retraction or reinstatement on its way is waiting.
 */
export function deliveryState(deliveries: readonly Pick<FhirDelivery, 'status' | 'action' | 'lastError' | 'attempts'>[]): { sentence: string; problem?: { attempts: number; lastError: string } } {
  const count = (status: FhirDelivery['status'], action?: FhirDelivery['action']) => deliveries.filter((d) => d.status === status && (action === undefined || d.action === action)).length;
  const withdrawn = count('withdrawn');
  const retracted = count('delivered', 'retract');
  const sentence = `Of the latest ${deliveries.length} ${deliveries.length === 1 ? 'reading' : 'readings'}: ${count('delivered') - retracted} delivered, ${count('pending') + count('sending')} waiting, ${count('failed')} failed${withdrawn > 0 ? `, ${withdrawn} not sent (set aside from the patient’s record)` : ''}${retracted > 0 ? `, ${retracted} marked entered in error in the EHR (set aside after it was sent)` : ''}.`;
  const troubled = deliveries.find((d) => d.lastError !== null && d.status !== 'delivered' && d.status !== 'withdrawn');
  return troubled ? { sentence, problem: { attempts: troubled.attempts, lastError: troubled.lastError! } } : { sentence };
}
