// The org.bluez.Agent1 that answers BlueZ during pairing. node-ble registers none, and without one
// bonding fails with "Authentication Failed" (Q1); passkey devices (Accu-Chek Guide, Q2) need the
// code from provisioning, which this agent hands over for the device being paired, and only for it.
import dbus from 'dbus-next';

type MessageBus = ReturnType<typeof dbus.systemBus>;

const AGENT_PATH = '/org/rpm/gateway/agent';
const CAPABILITY = 'KeyboardDisplay';

const rejected = () => new dbus.DBusError('org.bluez.Error.Rejected', 'Rejected');

class Agent1 extends dbus.interface.Interface {
  constructor(private readonly passkeyFor: (devicePath: string) => number | undefined) {
    super('org.bluez.Agent1');
  }
  Release(): void {}
  RequestPinCode(device: string): string {
    const passkey = this.passkeyFor(device);
    if (passkey === undefined) throw rejected();
    return String(passkey).padStart(6, '0');
  }
  DisplayPinCode(): void {}
  RequestPasskey(device: string): number {
    const passkey = this.passkeyFor(device);
    if (passkey === undefined) throw rejected();
    return passkey;
  }
  DisplayPasskey(): void {}
  RequestConfirmation(device: string): void {
    // Numeric comparison: only devices the gateway is configured for are accepted.
    if (this.passkeyFor(device) === undefined && !this.known(device)) throw rejected();
  }
  RequestAuthorization(device: string): void {
    if (!this.known(device)) throw rejected();
  }
  AuthorizeService(device: string): void {
    if (!this.known(device)) throw rejected();
  }
  Cancel(): void {}
  known: (devicePath: string) => boolean = () => false;
}
Agent1.configureMembers({
  methods: {
    Release: {},
    RequestPinCode: { inSignature: 'o', outSignature: 's' },
    DisplayPinCode: { inSignature: 'os' },
    RequestPasskey: { inSignature: 'o', outSignature: 'u' },
    DisplayPasskey: { inSignature: 'ouq' },
    RequestConfirmation: { inSignature: 'ou' },
    RequestAuthorization: { inSignature: 'o' },
    AuthorizeService: { inSignature: 'os' },
    Cancel: {},
  },
});

/** `dev_AA_BB_CC_DD_EE_FF` at the end of a BlueZ device path, as a MAC address. */
export function addressOfDevicePath(path: string): string | undefined {
  const match = /dev_([0-9A-F]{2}(?:_[0-9A-F]{2}){5})$/i.exec(path);
  return match ? match[1]!.replace(/_/g, ':').toUpperCase() : undefined;
}

export interface PairingAgent {
  unregister(): Promise<void>;
}

/** Exports the agent on the bus node-ble uses and registers it as BlueZ's default agent. */
export async function registerPairingAgent(bus: MessageBus, devices: ReadonlyMap<string, { passkey?: number }>): Promise<PairingAgent> {
  const lookup = (path: string) => {
    const address = addressOfDevicePath(path);
    return address ? devices.get(address) : undefined;
  };
  const agent = new Agent1((path) => lookup(path)?.passkey);
  agent.known = (path) => lookup(path) !== undefined;
  bus.export(AGENT_PATH, agent);
  const manager = (await bus.getProxyObject('org.bluez', '/org/bluez')).getInterface('org.bluez.AgentManager1');
  await manager['RegisterAgent']!(AGENT_PATH, CAPABILITY);
  await manager['RequestDefaultAgent']!(AGENT_PATH);
  return {
    unregister: async () => {
      await Promise.resolve(manager['UnregisterAgent']!(AGENT_PATH)).catch(() => undefined);
      bus.unexport(AGENT_PATH, agent);
    },
  };
}
