// Record Access Control Point 0x2A52 (ble-gatt.md §3.3): the requests a gateway writes and the
// responses a meter indicates.
import { Frame, MalformedFrame } from './frame.js';

export const RACP_RESPONSE_VALUES: Readonly<Record<number, string>> = {
  1: 'success',
  2: 'op_code_not_supported',
  3: 'invalid_operator',
  4: 'operator_not_supported',
  5: 'invalid_operand',
  6: 'no_records_found',
  7: 'abort_unsuccessful',
  8: 'procedure_not_completed',
  9: 'operand_not_supported',
};

export type RacpResponse = { type: 'count'; count: number } | { type: 'response'; requestOpCode: number; result: string; code: number };

export function decodeRacpResponse(bytes: Buffer): RacpResponse {
  const frame = new Frame(bytes, '2A52');
  const opCode = frame.uint8('opCode');
  const operator = frame.uint8('operator');
  if (operator !== 0) throw new MalformedFrame('2A52', `responses carry the null operator, not ${operator}`);
  if (opCode === 0x05) {
    // GLS defines the count as uint16; Nordic also accepts 1 and 4 bytes (vector V19).
    const remaining = frame.remaining;
    if (remaining !== 1 && remaining !== 2 && remaining !== 4) throw new MalformedFrame('2A52', `a record count of ${remaining} bytes`);
    const count = remaining === 1 ? frame.uint8('count') : remaining === 2 ? frame.uint16('count') : bytes.readUInt32LE(2);
    return { type: 'count', count };
  }
  if (opCode !== 0x06) throw new MalformedFrame('2A52', `op code 0x${opCode.toString(16).padStart(2, '0')} is a request, not a response`);
  const requestOpCode = frame.uint8('requestOpCode');
  const code = frame.uint8('responseValue');
  frame.end();
  return { type: 'response', requestOpCode, code, result: RACP_RESPONSE_VALUES[code] ?? `unknown_${code}` };
}

export const racpRequest = {
  reportAll: () => Buffer.from([0x01, 0x01]),
  reportFirst: () => Buffer.from([0x01, 0x05]),
  reportLast: () => Buffer.from([0x01, 0x06]),
  countAll: () => Buffer.from([0x04, 0x01]),
  abort: () => Buffer.from([0x03, 0x00]),
  deleteAll: () => Buffer.from([0x02, 0x01]),
  /** Records with sequence number ≥ `sequence` (operator 3, filter type 1). */
  reportFrom: (sequence: number) => {
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > 0xffff) throw new RangeError(`sequence ${sequence} is not a uint16`);
    return Buffer.from([0x01, 0x03, 0x01, sequence & 0xff, sequence >> 8]);
  },
  reportRange: (from: number, to: number) => Buffer.from([0x01, 0x04, 0x01, from & 0xff, from >> 8, to & 0xff, to >> 8]),
};
