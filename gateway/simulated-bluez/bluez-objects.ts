// The org.bluez D-Bus interfaces the simulation exports, shaped as BlueZ 5 shapes them (names,
// signatures, error names) so that node-ble runs against them unmodified (ble-gatt.md §7.2, §8).
// Behaviour lives in the owner objects (SimulatedBluez, VirtualPeripheral); these classes only
// translate D-Bus calls into calls on them.
import dbus from 'dbus-next';

const { Interface } = dbus.interface;

/** Errors exactly as BlueZ names them (src/error.c, src/gatt-client.c). */
export const bluezError = {
  failed: (text: string) => new dbus.DBusError('org.bluez.Error.Failed', text),
  att: (code: number) => new dbus.DBusError('org.bluez.Error.Failed', `Operation failed with ATT error: 0x${code.toString(16).padStart(2, '0')}`),
  notPermitted: (text: string) => new dbus.DBusError('org.bluez.Error.NotPermitted', text),
  inProgress: (text = 'In Progress') => new dbus.DBusError('org.bluez.Error.InProgress', text),
  notReady: () => new dbus.DBusError('org.bluez.Error.NotReady', 'Resource Not Ready'),
  authenticationFailed: () => new dbus.DBusError('org.bluez.Error.AuthenticationFailed', 'Authentication Failed'),
  notConnected: () => new dbus.DBusError('org.bluez.Error.NotConnected', 'Not Connected'),
  alreadyConnected: () => new dbus.DBusError('org.bluez.Error.AlreadyConnected', 'Already Connected'),
  alreadyExists: (text: string) => new dbus.DBusError('org.bluez.Error.AlreadyExists', text),
};
export type BluezError = InstanceType<typeof dbus.DBusError>;

export interface AgentManagerOwner {
  registerAgent(path: string, capability: string): void;
  unregisterAgent(path: string): void;
  requestDefaultAgent(path: string): void;
}

export class AgentManager1 extends Interface {
  constructor(private readonly owner: AgentManagerOwner) {
    super('org.bluez.AgentManager1');
  }
  RegisterAgent(path: string, capability: string): void {
    this.owner.registerAgent(path, capability);
  }
  UnregisterAgent(path: string): void {
    this.owner.unregisterAgent(path);
  }
  RequestDefaultAgent(path: string): void {
    this.owner.requestDefaultAgent(path);
  }
}
AgentManager1.configureMembers({
  methods: {
    RegisterAgent: { inSignature: 'os' },
    UnregisterAgent: { inSignature: 'o' },
    RequestDefaultAgent: { inSignature: 'o' },
  },
});

export interface AdapterOwner {
  setDiscoveryFilter(filter: Record<string, unknown>): void;
  startDiscovery(): void;
  stopDiscovery(): void;
  removeDevice(path: string): void;
}

export class Adapter1 extends Interface {
  Address = '00:1A:7D:DA:71:13';
  Name = 'rpm-gateway-simulated';
  Alias = 'rpm-gateway-simulated';
  Powered = true;
  Discovering = false;

  constructor(private readonly owner: AdapterOwner) {
    super('org.bluez.Adapter1');
  }
  SetDiscoveryFilter(filter: Record<string, { value: unknown }>): void {
    // Recorded, not applied: every simulated peripheral is a BLE health device.
    this.owner.setDiscoveryFilter(Object.fromEntries(Object.entries(filter).map(([key, variant]) => [key, variant.value])));
  }
  StartDiscovery(): void {
    if (this.Discovering) throw bluezError.inProgress('Operation already in progress');
    this.owner.startDiscovery();
  }
  StopDiscovery(): void {
    if (!this.Discovering) throw bluezError.failed('No discovery started');
    this.owner.stopDiscovery();
  }
  RemoveDevice(path: string): void {
    this.owner.removeDevice(path);
  }
}
Adapter1.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's', access: 'read' },
    Powered: { signature: 'b', access: 'read' },
    Discovering: { signature: 'b', access: 'read' },
  },
  methods: {
    SetDiscoveryFilter: { inSignature: 'a{sv}' },
    StartDiscovery: {},
    StopDiscovery: {},
    RemoveDevice: { inSignature: 'o' },
  },
});

export interface DeviceOwner {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  pair(): Promise<void>;
}

export class Device1 extends Interface {
  Name: string;
  Alias: string;
  AddressType = 'public';
  Connected = false;
  ServicesResolved = false;
  Paired = false;
  Trusted = false;
  RSSI = -60;
  UUIDs: string[];

  constructor(
    public readonly Address: string,
    name: string,
    uuids: string[],
    private readonly owner: DeviceOwner,
  ) {
    super('org.bluez.Device1');
    this.Name = name;
    this.Alias = name;
    this.UUIDs = uuids;
  }
  Connect(): Promise<void> {
    return this.owner.connect();
  }
  Disconnect(): Promise<void> {
    return this.owner.disconnect();
  }
  Pair(): Promise<void> {
    return this.owner.pair();
  }
  CancelPair(): void {
    // Pairing in the simulation completes within one call; nothing to cancel.
  }
}
Device1.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's', access: 'read' },
    Connected: { signature: 'b', access: 'read' },
    ServicesResolved: { signature: 'b', access: 'read' },
    Paired: { signature: 'b', access: 'read' },
    Trusted: { signature: 'b', access: 'readwrite' },
    RSSI: { signature: 'n', access: 'read' },
    UUIDs: { signature: 'as', access: 'read' },
  },
  methods: { Connect: {}, Disconnect: {}, Pair: {}, CancelPair: {} },
});

export class GattService1 extends Interface {
  Primary = true;
  constructor(
    public readonly UUID: string,
    public readonly Device: string,
  ) {
    super('org.bluez.GattService1');
  }
}
GattService1.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Primary: { signature: 'b', access: 'read' },
    Device: { signature: 'o', access: 'read' },
  },
});

export interface WriteOptions {
  type: string;
  offset: number;
}

export interface CharacteristicOwner {
  read(uuid: string): Promise<Buffer>;
  write(uuid: string, value: Buffer, options: WriteOptions): Promise<void>;
  startNotify(uuid: string): Promise<void>;
  stopNotify(uuid: string): void;
}

interface Variant {
  value: unknown;
}

export class GattCharacteristic1 extends Interface {
  Value: Buffer = Buffer.alloc(0);
  Notifying = false;

  constructor(
    public readonly UUID: string,
    public readonly Service: string,
    public readonly Flags: string[],
    private readonly owner: CharacteristicOwner,
  ) {
    super('org.bluez.GattCharacteristic1');
  }
  async ReadValue(): Promise<Buffer> {
    this.Value = await this.owner.read(this.UUID);
    return this.Value;
  }
  async WriteValue(value: Buffer | number[], options: Record<string, Variant>): Promise<void> {
    const bytes = Buffer.from(value);
    // BlueZ's default is "reliable" when no type is given, like node-ble's writeValue (§7.3).
    const type = typeof options['type']?.value === 'string' ? (options['type'].value as string) : 'reliable';
    const offset = typeof options['offset']?.value === 'number' ? (options['offset'].value as number) : 0;
    await this.owner.write(this.UUID, bytes, { type, offset });
  }
  async StartNotify(): Promise<void> {
    // BlueZ answers InProgress only to the client that already subscribed; another client (a
    // restarted gateway) joins the session, and with no new CCCD write the device sends nothing new.
    if (this.Notifying) return;
    await this.owner.startNotify(this.UUID);
  }
  StopNotify(): void {
    this.owner.stopNotify(this.UUID);
  }

  /** A notification or indication: BlueZ updates Value and signals PropertiesChanged. */
  push(value: Buffer): void {
    this.Value = value;
    Interface.emitPropertiesChanged(this, { Value: value }, []);
  }

  setNotifying(notifying: boolean): void {
    if (this.Notifying === notifying) return;
    this.Notifying = notifying;
    Interface.emitPropertiesChanged(this, { Notifying: notifying }, []);
  }
}
GattCharacteristic1.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Service: { signature: 'o', access: 'read' },
    Flags: { signature: 'as', access: 'read' },
    Value: { signature: 'ay', access: 'read' },
    Notifying: { signature: 'b', access: 'read' },
  },
  methods: {
    ReadValue: { inSignature: 'a{sv}', outSignature: 'ay' },
    WriteValue: { inSignature: 'aya{sv}' },
    StartNotify: {},
    StopNotify: {},
  },
});

export function setProperties(iface: InstanceType<typeof Interface>, changes: Record<string, unknown>): void {
  Object.assign(iface, changes);
  Interface.emitPropertiesChanged(iface, changes, []);
}
