// Virtual cuffs, scales and glucose meters that the simulated BlueZ plays. They behave like the
// devices of ble-gatt.md: stored-record bursts after notifications are switched on (§2.3), RACP
// with the ≥ operator (§3.3), a clock that can be wrong or unset (Q5, Q6), Current Time writes
// answered with ATT 0x80 (Q3), bonding before data (Q1, Q2); faults can be injected.
import { decodeGlucoseMeasurement } from '../decoders/glucose.js';
import { decodeCurrentTime, deviceTimeToInstant, encodeCurrentTime } from '../decoders/time.js';
import { bluezError, type BluezError, type CharacteristicOwner, type DeviceOwner, type GattCharacteristic1, type WriteOptions } from './bluez-objects.js';

export interface CharacteristicSpec {
  uuid: string;
  flags: string[];
}
export interface ServiceSpec {
  uuid: string;
  characteristics: CharacteristicSpec[];
}

/** What the simulated BlueZ offers a peripheral: its exported objects and the pairing agent. */
export interface PeripheralHost {
  characteristic(peripheral: VirtualPeripheral, uuid: string): GattCharacteristic1 | undefined;
  setConnected(peripheral: VirtualPeripheral, connected: boolean, servicesResolved: boolean): void;
  setPaired(peripheral: VirtualPeripheral): void;
  requestPasskey(peripheral: VirtualPeripheral): Promise<number>;
  hasAgent(): boolean;
}

export interface Faults {
  /** Connect() fails this many times with `le-connection-abort-by-local` (Q13). */
  connectFailures: number;
  /** ServicesResolved never turns true after Connect (node-ble #25, Q15). */
  servicesNeverResolve: boolean;
  /** The link drops after this many records of the next transfer (disconnect mid-burst). */
  disconnectAfterRecords?: number;
  /** Errors the next writes to a characteristic (short UUID) answer with, one per write. */
  writeErrors: Map<string, BluezError[]>;
}

export interface WriteRecord {
  uuid: string;
  hex: string;
  type: string;
}

const RECORD_SPACING_MS = 5;
const CURRENT_TIME = '2A2B';
const DATE_TIME = '2A08';

export abstract class VirtualPeripheral implements DeviceOwner, CharacteristicOwner {
  host: PeripheralHost | undefined;
  connected = false;
  paired = false;
  readonly faults: Faults = { connectFailures: 0, servicesNeverResolve: false, writeErrors: new Map() };
  readonly writes: WriteRecord[] = [];
  /** How many times a data transfer started (bursts, RACP reports): lets a test see a resume. */
  transfers = 0;
  /** Device clock minus true time, in ms; the clock shows wall time in `timezone`. */
  clockSkewMs = 0;
  clockUnset = false;
  protected readonly notifying = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly address: string,
    readonly name: string,
    readonly timezone: string,
    readonly pairing: 'just_works' | 'passkey' | 'none',
    readonly passkey?: number,
  ) {}

  abstract get services(): ServiceSpec[];

  /** Called when notifications for `uuid` (short, upper case) were switched on. */
  protected abstract onSubscribed(uuid: string): void;
  protected abstract onWrite(uuid: string, value: Buffer): void;

  get clockNow(): Date {
    return new Date(Date.now() + this.clockSkewMs);
  }

  injectWriteError(uuid: string, ...errors: BluezError[]): void {
    this.faults.writeErrors.set(uuid.toUpperCase(), [...(this.faults.writeErrors.get(uuid.toUpperCase()) ?? []), ...errors]);
  }

  async connect(): Promise<void> {
    if (this.connected) throw bluezError.alreadyConnected();
    if (this.faults.connectFailures > 0) {
      this.faults.connectFailures -= 1;
      throw bluezError.failed('le-connection-abort-by-local');
    }
    this.connected = true;
    this.host!.setConnected(this, true, false);
    if (!this.faults.servicesNeverResolve) this.later(20, () => this.connected && this.host!.setConnected(this, true, true));
  }

  async disconnect(): Promise<void> {
    this.dropLink();
  }

  /** The device goes out of range or turns itself off. */
  dropLink(): void {
    this.cancelTimers();
    this.notifying.clear();
    if (!this.connected) return;
    this.connected = false;
    this.host!.setConnected(this, false, false);
  }

  async pair(): Promise<void> {
    if (this.paired) throw bluezError.alreadyExists('Already Exists');
    if (this.pairing === 'none') return;
    if (!this.host!.hasAgent()) throw bluezError.authenticationFailed();
    if (this.pairing === 'passkey') {
      const entered = await this.host!.requestPasskey(this).catch(() => undefined);
      if (entered !== this.passkey) throw bluezError.authenticationFailed();
    }
    this.paired = true;
    this.host!.setPaired(this);
  }

  /** BlueZ raises security on "Insufficient Authentication" by pairing through the agent (Q1). */
  private async ensureBonded(): Promise<void> {
    if (this.pairing === 'none' || this.paired) return;
    if (!this.host!.hasAgent()) throw bluezError.att(0x05);
    await this.pair();
  }

  async read(uuid: string): Promise<Buffer> {
    this.requireLink();
    const id = shortUuid(uuid);
    if (id === CURRENT_TIME || id === DATE_TIME) {
      const time = this.clockUnset ? Buffer.alloc(10) : encodeCurrentTime(this.clockNow, this.timezone);
      return id === DATE_TIME ? time.subarray(0, 7) : time;
    }
    throw bluezError.notPermitted('Read not permitted');
  }

  async write(uuid: string, value: Buffer, options: WriteOptions): Promise<void> {
    this.requireLink();
    await this.ensureBonded();
    const id = shortUuid(uuid);
    this.writes.push({ uuid: id, hex: value.toString('hex'), type: options.type });
    const injected = this.faults.writeErrors.get(id)?.shift();
    if (id === CURRENT_TIME || id === DATE_TIME) {
      const time = decodeCurrentTime(id === DATE_TIME ? Buffer.concat([value, Buffer.alloc(3)]) : value);
      const instant = deviceTimeToInstant(time, this.timezone);
      if (instant) {
        this.clockSkewMs = Date.parse(instant) - Date.now();
        this.clockUnset = false;
      }
      // Omron sets its clock and still answers ATT 0x80 (Q3): the error comes after the effect.
      if (injected) throw injected;
      return;
    }
    if (injected) throw injected;
    // Prepare/Execute (BlueZ's "reliable" type) is what many peripherals do not support (§7.3).
    if (options.type === 'reliable') throw bluezError.att(0x06);
    this.onWrite(id, value);
  }

  async startNotify(uuid: string): Promise<void> {
    this.requireLink();
    await this.ensureBonded();
    const id = shortUuid(uuid);
    this.notifying.add(id);
    this.host!.characteristic(this, id)?.setNotifying(true);
    this.onSubscribed(id);
  }

  stopNotify(uuid: string): void {
    const id = shortUuid(uuid);
    this.notifying.delete(id);
    this.host!.characteristic(this, id)?.setNotifying(false);
  }

  protected cancelTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  protected requireLink(): void {
    if (!this.connected) throw bluezError.notConnected();
  }

  protected later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  protected notify(uuid: string, value: Buffer): boolean {
    if (!this.connected || !this.notifying.has(uuid)) return false;
    this.host!.characteristic(this, uuid)?.push(value);
    return true;
  }

  /** Sends frames one after another, as indications arrive; honours an injected mid-transfer drop. */
  protected sendSequence(frames: { uuid: string; value: Buffer }[], then?: () => void): void {
    this.transfers += 1;
    const dropAfter = this.faults.disconnectAfterRecords;
    this.faults.disconnectAfterRecords = undefined;
    const step = (index: number) => {
      if (!this.connected) return;
      if (dropAfter !== undefined && index === dropAfter) {
        this.dropLink();
        return;
      }
      const frame = frames[index];
      if (!frame) {
        then?.();
        return;
      }
      this.notify(frame.uuid, frame.value);
      this.later(RECORD_SPACING_MS, () => step(index + 1));
    };
    this.later(RECORD_SPACING_MS, () => step(0));
  }

  protected clockReading(trueInstant: Date): { at: Date; timezone: string } | 'unset' {
    return this.clockUnset ? 'unset' : { at: new Date(trueInstant.getTime() + this.clockSkewMs), timezone: this.timezone };
  }
}

function shortUuid(uuid: string): string {
  const match = /^0000([0-9a-f]{4})-0000-1000-8000-00805f9b34fb$/i.exec(uuid);
  return (match ? match[1]! : uuid).toUpperCase();
}

const timeService = (uuid: typeof CURRENT_TIME | typeof DATE_TIME): ServiceSpec =>
  uuid === CURRENT_TIME ? { uuid: '1805', characteristics: [{ uuid: CURRENT_TIME, flags: ['read', 'write', 'notify'] }] } : { uuid: '1805', characteristics: [] };

/**
 * A blood-pressure cuff, scale or thermometer: keeps its stored measurements and sends all of them
 * as a burst every time notifications are switched on (most cuffs re-send history: Q7).
 */
export class VirtualBurstDevice extends VirtualPeripheral {
  /** Stored frames, oldest first (build them with frames.ts or take a reference vector). */
  records: Buffer[] = [];

  constructor(
    address: string,
    name: string,
    timezone: string,
    readonly service: { uuid: string; measurement: string; timeCharacteristic?: typeof CURRENT_TIME },
    pairing: 'just_works' | 'passkey' | 'none' = 'just_works',
    passkey?: number,
  ) {
    super(address, name, timezone, pairing, passkey);
  }

  get services(): ServiceSpec[] {
    const main: ServiceSpec = { uuid: this.service.uuid, characteristics: [{ uuid: this.service.measurement, flags: ['indicate'] }] };
    return this.service.timeCharacteristic ? [main, timeService(this.service.timeCharacteristic)] : [main];
  }

  protected onSubscribed(uuid: string): void {
    if (uuid !== this.service.measurement) return;
    this.sendSequence(this.records.map((value) => ({ uuid, value })));
  }

  protected onWrite(uuid: string): void {
    throw bluezError.notPermitted(`Write not permitted on ${uuid}`);
  }

  /** Stamps a new measurement with the device's own clock, as the device would. */
  stamp(trueInstant: Date): { at: Date; timezone: string } | 'unset' {
    return this.clockReading(trueInstant);
  }
}

/** A glucose meter: records by sequence number, reported through the RACP (§3.3), Date Time clock. */
export class VirtualGlucoseMeter extends VirtualPeripheral {
  records: Buffer[] = [];
  /** Glucose Measurement Context frames (0x2A34), sent right after the record of the same sequence number. */
  contexts: Buffer[] = [];
  /** "Procedure already in progress" answers (ATT 0x80 in GLS 1.0) for the next RACP writes. */
  racpBusy = 0;

  get services(): ServiceSpec[] {
    return [
      {
        uuid: '1808',
        characteristics: [
          { uuid: '2A18', flags: ['notify'] },
          { uuid: '2A34', flags: ['notify'] },
          { uuid: '2A52', flags: ['write', 'indicate'] },
          { uuid: DATE_TIME, flags: ['read', 'write'] },
        ],
      },
    ];
  }

  stamp(trueInstant: Date): { at: Date; timezone: string } | 'unset' {
    return this.clockReading(trueInstant);
  }

  protected onSubscribed(): void {
    // The meter sends nothing until the RACP asks.
  }

  protected onWrite(uuid: string, value: Buffer): void {
    if (uuid !== '2A52') throw bluezError.notPermitted(`Write not permitted on ${uuid}`);
    if (!this.notifying.has('2A52')) throw bluezError.att(0x81); // CCCD improperly configured (GLS)
    if (this.racpBusy > 0) {
      this.racpBusy -= 1;
      throw bluezError.att(0x80);
    }
    const [opCode, operator] = [value[0], value[1]];
    const respond = (requestOpCode: number, code: number) => this.notify('2A52', Buffer.from([0x06, 0x00, requestOpCode, code]));
    const selected = (): Buffer[] => {
      if (operator === 0x01) return this.records;
      const bySequence = [...this.records].sort((a, b) => decodeGlucoseMeasurement(a).sequenceNumber - decodeGlucoseMeasurement(b).sequenceNumber);
      if (operator === 0x05) return bySequence.slice(0, 1);
      if (operator === 0x06) return bySequence.slice(-1);
      if (operator === 0x03 && value[2] === 0x01 && value.length === 5) {
        const from = value.readUInt16LE(3);
        return this.records.filter((r) => decodeGlucoseMeasurement(r).sequenceNumber >= from);
      }
      return [];
    };
    if (opCode === 0x01) {
      if (![0x01, 0x03, 0x05, 0x06].includes(operator ?? 0)) return void this.later(1, () => respond(0x01, operator === 0x00 ? 0x03 : 0x04));
      const records = selected();
      this.later(1, () => {
        if (records.length === 0) return void respond(0x01, 0x06);
        this.sendSequence(
          records.flatMap((frame) => {
            const sequence = decodeGlucoseMeasurement(frame).sequenceNumber;
            const context = this.contexts.find((c) => c.readUInt16LE(1) === sequence);
            return [{ uuid: '2A18', value: frame }, ...(context ? [{ uuid: '2A34', value: context }] : [])];
          }),
          () => respond(0x01, 0x01),
        );
      });
      return;
    }
    if (opCode === 0x04) {
      const count = Buffer.from([0x05, 0x00, 0, 0]);
      count.writeUInt16LE(selected().length, 2);
      this.later(1, () => this.notify('2A52', count));
      return;
    }
    if (opCode === 0x03) {
      this.dropTransfers();
      this.later(1, () => respond(0x03, 0x01));
      return;
    }
    this.later(1, () => respond(opCode ?? 0, 0x02));
  }

  private dropTransfers(): void {
    // An abort stops the report; the link stays up.
    this.cancelTimers();
  }
}
