// How deeply JSON text nests, measured on the text itself before anything recursive (JSON.parse,
// a schema validator, JSON.stringify in an error preview) touches it. A 10 KB publish of an array
// nested 5,000 deep once overflowed the stack in a validation preview and wedged the pipeline.

/**
 * The deepest nesting a payload of ours may have. A batch is 3 levels ({readings:[{…}]}) and a
 * reading's own objects add 2 at most; 32 leaves room for any honest payload and the API's bodies
 * (a thresholds document is about 5 deep) while staying far below what any recursion in
 * V8, ajv or zod can bear.
 */
export const MAX_JSON_DEPTH = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when the JSON text (UTF-8 bytes or a string) opens more than `maxDepth` arrays or objects
 * inside each other. Brackets inside strings do not count. One pass, no allocation; it decides
 * nothing about whether the text is valid JSON (JSON.parse does that next).
 */
export function exceedsJsonDepth(text: Uint8Array | string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  const isString = typeof text === 'string';
  const length = text.length;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < length; index += 1) {
    const code = isString ? text.charCodeAt(index) : text[index]!;
    if (inString) {
      if (code === BACKSLASH) index += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return false;
}
