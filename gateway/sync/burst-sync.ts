// Stored-measurement bursts (cuffs, scales, thermometers): switch indications on and take every
// record the device sends until it falls quiet (ble-gatt.md §2.3). Each record is on the gateway's
// disk before the next is handled: BlueZ has already confirmed it to the device.
import { LinkLost } from '../ble/bluez-errors.js';
import type { GattLink } from '../ble/gatt-link.js';
import type { Outbox } from '../outbox.js';
import type { ReadingSink, SessionClock } from './reading-sink.js';

export interface TransferResult {
  received: number;
  stored: number;
  held: number;
  clockUnset: number;
}

export function emptyResult(): TransferResult {
  return { received: 0, stored: 0, held: 0, clockUnset: 0 };
}

export function storeFrame(outbox: Outbox, sink: ReadingSink, characteristic: string, frame: Buffer, clock: SessionClock, result: TransferResult): void {
  result.received += 1;
  const outcome = sink.accept(characteristic, frame, clock, new Date());
  if (outcome.type === 'reading') {
    result.stored += outbox.store([outcome.reading]);
    if (outcome.clockUnset) result.clockUnset += 1;
  } else if (outcome.type === 'held') {
    outbox.store([], { held: [outcome.held] });
    result.held += 1;
  }
}

export async function syncStoredBurst(
  link: GattLink,
  options: { characteristic: string; outbox: Outbox; sink: ReadingSink; clock: SessionClock; quietMs: number; maxMs: number },
): Promise<TransferResult> {
  const result = emptyResult();
  let lastActivity = Date.now();
  await link.subscribe(options.characteristic, (frame) => {
    lastActivity = Date.now();
    storeFrame(options.outbox, options.sink, options.characteristic, frame, options.clock, result);
  });
  const startedAt = Date.now();
  // Quiet for quietMs (or the overall limit) ends the burst; a drop mid-burst is an error, so the
  // worker reconnects and the device sends again (duplicates are absorbed by the reading ids).
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (link.isLost) {
        clearInterval(timer);
        reject(new LinkLost(`the ${options.characteristic} burst (${result.received} records received)`));
      } else if (Date.now() - lastActivity >= options.quietMs || Date.now() - startedAt >= options.maxMs) {
        clearInterval(timer);
        resolve();
      }
    }, Math.min(50, options.quietMs));
  });
  return result;
}
