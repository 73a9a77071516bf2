// One pino logger for the process. Patient data never goes into logs: the fields that could carry
// it are redacted wherever they appear, as a second line of defence behind code that never logs them.
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Where the demo's logs go: readable lines in a terminal (JSON lines otherwise, for programs), held
 * back until the demo has printed the console's address and sign-ins, which a newcomer needs first.
 */
export class DemoLogStream implements DestinationStream {
  private held: string[] | undefined = [];
  private readonly target: DestinationStream = process.stdout.isTTY ? pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' }) : process.stdout;

  write(line: string): void {
    if (this.held) this.held.push(line);
    else this.target.write(line);
  }

  /** Writes what was held, and everything after it as it comes. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const line of held) this.target.write(line);
  }
}
