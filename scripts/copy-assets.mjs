// tsc compiles TypeScript only; the device profiles are JSON files read at run time, so copy them
// next to the compiled device-profiles module.
import { cpSync } from 'node:fs';

cpSync('device-profiles/models', 'dist/device-profiles/models', { recursive: true });
