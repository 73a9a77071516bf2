// Every RPM_ERR_ code of every module, for the README (one line per module) and docs/errors.md (a
// row per code with its status and meaning). Importing the modules declares their tables.
import { errorTable, type ErrorInfo } from '../device-profiles/index.js';
import '../ingest/index.js';
import '../store/index.js';
import '../dashboard-api/index.js';
import '../gateway/index.js';
import '../fhir/index.js';
import './config.js';

/** Where each module's codes show up, in the order a reader meets them. */
const MODULES: readonly { module: string; where: string }[] = [
  { module: 'readings', where: 'a reading that breaks the contract (receipts, dead letters, API)' },
  { module: 'ingest', where: 'ingest (receipts and dead letters)' },
  { module: 'api', where: 'the HTTP API' },
  { module: 'fhir', where: 'the FHIR API (in an OperationOutcome)' },
  { module: 'store', where: 'the stores (answered by the API)' },
  { module: 'cli', where: 'start-up and the command line' },
  { module: 'gateway', where: 'the BLE gateway' },
];

function byModule(): Map<string, ErrorInfo[]> {
  const groups = new Map<string, ErrorInfo[]>();
  for (const info of errorTable()) groups.set(info.module, [...(groups.get(info.module) ?? []), info]);
  for (const module of groups.keys()) if (!MODULES.some((m) => m.module === module)) throw new Error(`error-list.ts: no place for the codes of module ${module}`);
  return groups;
}

const status = (info: ErrorInfo) => (info.status === null ? '–' : String(info.status));

/** The README's list: per module, every code with its HTTP status. */
export function readmeErrorList(): string {
  const groups = byModule();
  const lines = ['| where | codes (`RPM_ERR_…`, HTTP status) |', '| --- | --- |'];
  for (const { module, where } of MODULES) {
    const codes = groups.get(module) ?? [];
    if (codes.length > 0) lines.push(`| ${where} | ${codes.map((c) => `\`${c.code.slice('RPM_ERR_'.length)}\` ${status(c)}`).join(', ')} |`);
  }
  return lines.join('\n');
}

/** docs/errors.md's table: every code, its status and what it means. */
export function errorsPage(): string {
  const groups = byModule();
  const parts = [
    '# Errors',
    '',
    'Every error the platform answers, stores or stops with has a stable code. The API answers',
    '`{"error":"RPM_ERR_…","message":"…"}` with the status below; receipts carry `"reason":"RPM_ERR_…: …"`;',
    'dead letters keep the code and the message. Generated from the modules’ tables (`npm run docs:errors`).',
  ];
  for (const { module, where } of MODULES) {
    const codes = groups.get(module) ?? [];
    if (codes.length === 0) continue;
    parts.push('', `## ${where[0]!.toUpperCase()}${where.slice(1)}`, '', '| code | status | meaning |', '| --- | --- | --- |', ...codes.map((c) => `| \`${c.code}\` | ${status(c)} | ${c.meaning} |`));
  }
  return `${parts.join('\n')}\n`;
}

export const README_MARKERS = { start: '<!-- errors:start (npm run docs:errors) -->', end: '<!-- errors:end -->' };
