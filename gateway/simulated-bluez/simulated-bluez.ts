// A BlueZ stand-in on a private D-Bus: owns the name org.bluez and exports what node-ble looks up
// by introspection (ble-gatt.md §7.2, §8 Option A): /org/bluez (AgentManager1), /org/bluez/hci0
// (Adapter1), one Device1 per discovered peripheral and, once connected, its GATT services and
// characteristics. Pairing goes through the agent the gateway registered, as with real BlueZ.
import dbus from 'dbus-next';
import { fullUuid } from '../decoders/index.js';
import { Adapter1, AgentManager1, Device1, GattCharacteristic1, GattService1, setProperties } from './bluez-objects.js';
import type { PeripheralHost, VirtualPeripheral } from './virtual-peripherals.js';

type MessageBus = ReturnType<typeof dbus.sessionBus>;

interface Agent {
  sender: string;
  path: string;
  capability: string;
}

interface Exported {
  peripheral: VirtualPeripheral;
  path: string;
  device: Device1;
  characteristics: Map<string, GattCharacteristic1>;
  gattExported: boolean;
  deviceExported: boolean;
}

const ADAPTER_PATH = '/org/bluez/hci0';

export class SimulatedBluez implements PeripheralHost {
  readonly agents: Agent[] = [];
  /** Every RequestPasskey the simulation asked an agent, for tests to check the pairing path. */
  readonly passkeyRequests: string[] = [];
  /** The last discovery filter a client set (UUIDs, Transport), for tests. */
  discoveryFilter: Record<string, unknown> = {};
  private defaultAgent: Agent | undefined;
  private pendingSender: string | undefined;
  private readonly exported = new Map<VirtualPeripheral, Exported>();
  private readonly adapter: Adapter1;

  private constructor(private readonly bus: MessageBus) {
    const manager = new AgentManager1({
      registerAgent: (path, capability) => {
        const agent = { sender: this.pendingSender ?? '', path, capability };
        this.agents.push(agent);
      },
      unregisterAgent: (path) => {
        const index = this.agents.findIndex((a) => a.path === path);
        if (index >= 0) this.agents.splice(index, 1);
        if (this.defaultAgent?.path === path) this.defaultAgent = undefined;
      },
      requestDefaultAgent: (path) => {
        this.defaultAgent = this.agents.find((a) => a.path === path);
      },
    });
    this.adapter = new Adapter1({
      setDiscoveryFilter: (filter) => {
        this.discoveryFilter = filter;
      },
      startDiscovery: () => {
        setProperties(this.adapter, { Discovering: true });
        for (const entry of this.exported.values()) this.exportDevice(entry);
      },
      stopDiscovery: () => {
        setProperties(this.adapter, { Discovering: false });
        // An unbonded peer's Device1 vanishes when discovery stops (Q14).
        for (const entry of this.exported.values()) if (!entry.peripheral.paired && !entry.peripheral.connected) this.unexportDevice(entry);
      },
      removeDevice: (path) => {
        for (const entry of this.exported.values()) {
          if (entry.path !== path) continue;
          entry.peripheral.dropLink();
          entry.peripheral.paired = false;
          this.unexportDevice(entry);
        }
      },
    });
    // The agent's connection (its unique name) is where BlueZ calls back; method handlers see it.
    bus.addMethodHandler((message: { interface?: string; member?: string; sender?: string }) => {
      if (message.interface === 'org.bluez.AgentManager1' && message.member === 'RegisterAgent') this.pendingSender = message.sender;
      return false;
    });
    bus.export('/org/bluez', manager);
    bus.export(ADAPTER_PATH, this.adapter);
  }

  /** Connects to the bus at `busAddress` and takes the name org.bluez. */
  static async start(busAddress: string): Promise<SimulatedBluez> {
    const bus = dbus.sessionBus({ busAddress });
    bus.on('error', () => undefined);
    const simulation = new SimulatedBluez(bus);
    const reply = await bus.requestName('org.bluez', dbus.NameFlag.DO_NOT_QUEUE);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error(`org.bluez is already owned on ${busAddress}`);
    return simulation;
  }

  /** A peripheral in range; it shows up under the adapter once discovery runs. */
  add(peripheral: VirtualPeripheral): void {
    peripheral.host = this;
    const path = `${ADAPTER_PATH}/dev_${peripheral.address.replace(/:/g, '_').toUpperCase()}`;
    const device = new Device1(
      peripheral.address,
      peripheral.name,
      peripheral.services.map((s) => fullUuid(s.uuid)),
      peripheral,
    );
    const entry: Exported = { peripheral, path, device, characteristics: new Map(), gattExported: false, deviceExported: false };
    this.exported.set(peripheral, entry);
    if (this.adapter.Discovering) this.exportDevice(entry);
  }

  private entry(peripheral: VirtualPeripheral): Exported {
    const entry = this.exported.get(peripheral);
    if (!entry) throw new Error(`${peripheral.address} was not added to the simulation`);
    return entry;
  }

  private exportDevice(entry: Exported): void {
    if (entry.deviceExported) return;
    this.bus.export(entry.path, entry.device);
    entry.deviceExported = true;
  }

  private unexportDevice(entry: Exported): void {
    if (!entry.deviceExported) return;
    for (const [index, service] of entry.peripheral.services.entries()) {
      const servicePath = `${entry.path}/service${(index + 1).toString(16).padStart(4, '0')}`;
      for (const [charIndex] of service.characteristics.entries()) {
        const char = entry.characteristics.get(service.characteristics[charIndex]!.uuid);
        if (char) this.bus.unexport(`${servicePath}/char${((index + 1) * 16 + charIndex).toString(16).padStart(4, '0')}`, char);
      }
    }
    entry.characteristics.clear();
    entry.gattExported = false;
    this.bus.unexport(entry.path, entry.device);
    entry.deviceExported = false;
  }

  private exportGatt(entry: Exported): void {
    if (entry.gattExported) return;
    for (const [index, service] of entry.peripheral.services.entries()) {
      const servicePath = `${entry.path}/service${(index + 1).toString(16).padStart(4, '0')}`;
      this.bus.export(servicePath, new GattService1(fullUuid(service.uuid), entry.path));
      for (const [charIndex, spec] of service.characteristics.entries()) {
        const char = new GattCharacteristic1(fullUuid(spec.uuid), servicePath, spec.flags, entry.peripheral);
        this.bus.export(`${servicePath}/char${((index + 1) * 16 + charIndex).toString(16).padStart(4, '0')}`, char);
        entry.characteristics.set(spec.uuid.toUpperCase(), char);
      }
    }
    entry.gattExported = true;
  }

  characteristic(peripheral: VirtualPeripheral, uuid: string): GattCharacteristic1 | undefined {
    return this.entry(peripheral).characteristics.get(uuid.toUpperCase());
  }

  setConnected(peripheral: VirtualPeripheral, connected: boolean, servicesResolved: boolean): void {
    const entry = this.entry(peripheral);
    if (servicesResolved) this.exportGatt(entry);
    if (!connected) for (const char of entry.characteristics.values()) char.setNotifying(false);
    const changes: Record<string, boolean> = {};
    if (entry.device.Connected !== connected) changes['Connected'] = connected;
    if (entry.device.ServicesResolved !== servicesResolved) changes['ServicesResolved'] = servicesResolved;
    if (Object.keys(changes).length > 0) setProperties(entry.device, changes);
  }

  setPaired(peripheral: VirtualPeripheral): void {
    setProperties(this.entry(peripheral).device, { Paired: true, Trusted: true });
  }

  hasAgent(): boolean {
    return this.agents.length > 0;
  }

  async requestPasskey(peripheral: VirtualPeripheral): Promise<number> {
    const agent = this.defaultAgent ?? this.agents.at(-1);
    if (!agent) throw new Error('no agent registered');
    const path = this.entry(peripheral).path;
    this.passkeyRequests.push(path);
    const proxy = await this.bus.getProxyObject(agent.sender, agent.path);
    const answer = (await proxy.getInterface('org.bluez.Agent1')['RequestPasskey']!(path)) as number;
    return answer;
  }

  async stop(): Promise<void> {
    for (const entry of this.exported.values()) entry.peripheral.dropLink();
    this.bus.disconnect();
  }
}
