// A private D-Bus daemon for the simulated BlueZ: no root, no system bus. Every process that should
// see the simulation gets its address in DBUS_SYSTEM_BUS_ADDRESS (node-ble reads it through
// dbus-next: ble-gatt.md §7.2, §8).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateBus {
  address: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

function busConfig(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;
}

/** Starts `dbus-daemon` on a socket in a fresh temporary directory and returns its address. */
export async function startPrivateBus(): Promise<PrivateBus> {
  const directory = mkdtempSync(join(tmpdir(), 'rpm-dbus-'));
  const configPath = join(directory, 'bus.conf');
  writeFileSync(configPath, busConfig(join(directory, 'system_bus_socket')));
  const daemon: ChildProcess = spawn('dbus-daemon', [`--config-file=${configPath}`, '--nofork', '--nopidfile', '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const address = await new Promise<string>((resolve, reject) => {
    let output = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`dbus-daemon printed no address within ${START_TIMEOUT_MS} ms: ${errors.trim()}`)), START_TIMEOUT_MS);
    daemon.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`dbus-daemon could not be started (${error.message}); install the dbus-daemon package`));
    });
    daemon.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-daemon exited with code ${String(code)}: ${errors.trim()}`));
    });
    daemon.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    daemon.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n')[0];
      if (output.includes('\n') && line) {
        clearTimeout(timer);
        // The address may carry a ",guid=…" suffix, which clients accept as is.
        resolve(line.trim());
      }
    });
  });
  daemon.removeAllListeners('exit');
  return {
    address,
    stop: async () => {
      if (daemon.exitCode === null) {
        const exited = new Promise((resolve) => daemon.once('exit', resolve));
        daemon.kill('SIGTERM');
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
