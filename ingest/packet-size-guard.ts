// Refuses MQTT packets larger than a limit by reading each fixed header as the bytes arrive, before
// the parser buffers the body: a client announcing a 200 MB publish is cut off at its first bytes.
// MQTT 3.1.1 §2.2.3: the remaining length is a variable-length integer of 1–4 bytes after the type.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export function guardPacketSize(stream: Socket | Duplex, maxPacketBytes: number, onTooLarge: (announcedBytes: number) => void): void {
  let state: 'type' | 'length' | 'body' = 'type';
  let remaining = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  stream.on('data', (chunk: Buffer) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (state === 'type') {
        offset += 1;
        state = 'length';
        remaining = 0;
        multiplier = 1;
        lengthBytes = 0;
      } else if (state === 'length') {
        const byte = chunk[offset]!;
        offset += 1;
        remaining += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes += 1;
        if (remaining > maxPacketBytes) {
          onTooLarge(remaining);
          stream.destroy();
          return;
        }
        if ((byte & 0x80) === 0) state = remaining === 0 ? 'type' : 'body';
        else if (lengthBytes === 4) {
          // A fifth length byte is malformed; the MQTT parser reports it, this guard stops counting.
          stream.destroy();
          return;
        }
      } else {
        const take = Math.min(remaining, chunk.length - offset);
        offset += take;
        remaining -= take;
        if (remaining === 0) state = 'type';
      }
    }
  });
}
