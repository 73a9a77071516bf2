// tsc compiles TypeScript only; the device profiles are JSON files read at run time, so copy them
// next to the compiled device-profiles module. And the `rpm` command must be executable: npx and a
// global install run dist/bin/rpm.js by its shebang, and tsc writes it without the execute bit (on a
// fresh clone `npx rpm` answered "Permission denied": test/e2e/gateway-walkthrough.test.ts).
import { chmodSync, cpSync } from 'node:fs';

cpSync('device-profiles/models', 'dist/device-profiles/models', { recursive: true });
chmodSync('dist/bin/rpm.js', 0o755);
