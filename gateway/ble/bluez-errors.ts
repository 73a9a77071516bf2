// BlueZ reports GATT failures as D-Bus errors; the ATT code sits in the text
// ("Operation failed with ATT error: 0x80", src/gatt-client.c). These helpers read them.

export function dbusErrorName(error: unknown): string | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || dbusErrorName(error) || error.name;
  return String(error);
}

export function attErrorCode(error: unknown): number | undefined {
  const match = /ATT error: 0x([0-9a-f]{2})/i.exec(errorText(error));
  return match ? Number.parseInt(match[1]!, 16) : undefined;
}

/** BlueZ is busy with another operation on this device (node-ble #26): worth a retry. */
export function isBusy(error: unknown): boolean {
  return dbusErrorName(error) === 'org.bluez.Error.InProgress';
}

/** "Procedure already in progress": 0x80 in GLS 1.0, 0xFE in the Core Spec Supplement (§3.3). */
export function isProcedureInProgress(error: unknown): boolean {
  const code = attErrorCode(error);
  return code === 0x80 || code === 0xfe;
}

export class BleTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'BleTimeout';
  }
}

export class LinkLost extends Error {
  constructor(what: string) {
    super(`the device disconnected during ${what}`);
    this.name = 'LinkLost';
  }
}

/**
 * node-ble has no timeouts (device.gatt() can wait forever: node-ble #25, Q15), so every await on
 * BlueZ goes through this.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BleTimeout(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
