// Counts and lists in words: "1 patient", "3 patients"; "a, b and c". English only, as the console
// is; a noun whose plural is not its singular with an s passes its plural.

export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}

/** "a", "a and b", "a, b and c"; empty for none. */
export function andList(parts: readonly string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}`;
}
