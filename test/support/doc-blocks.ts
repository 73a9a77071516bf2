// The fenced code blocks of the README and docs/, for the tests that run the examples as written.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The text of a file of the repository (`README.md`, `docs/gateway.md`). */
export function repositoryFile(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

/** The fenced blocks in `language`, in order; from the first occurrence of `after` on, when given. */
export function fencedBlocks(text: string, language: string, after?: string): string[] {
  const from = after === undefined ? 0 : text.indexOf(after);
  if (from < 0) throw new Error(`no "${after}" in the document`);
  return [...text.slice(from).matchAll(new RegExp('```' + language + '\\n([^]*?)```', 'g'))].map((match) => match[1]!);
}
