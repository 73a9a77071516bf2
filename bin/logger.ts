// One pino logger for the process. Patient data never goes into logs: the fields that could carry
// it are redacted wherever they appear, as a second line of defence behind code that never logs them.
import { pino, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  '*.name',
  '*.birthDate',
  '*.secret',
  '*.password',
  '*.payload',
  '*.rawPayload',
  '*.note',
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
