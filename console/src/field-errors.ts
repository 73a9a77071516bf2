// A refused form's errors beside its fields: the API names the field of each problem
// (`body/birthDate: must be a date YYYY-MM-DD; timezone: "Mars/Base" is not an IANA time zone`).

/**
 * The API's message split into its problems, each under the id of the element `elementOf` gives
 * for the path it names (`rules/bp-crisis/any/0/value`, `birthDate`); a problem that names no field
 * of the form is under ''.
 */
export function fieldErrors(message: string, elementOf: (path: string) => string | undefined): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const part of message.split('; ')) {
    const match = /^(?:body\/)?([^:\s]+): (.*)$/.exec(part);
    const key = (match && elementOf(match[1]!)) ?? '';
    const text = match && key ? match[2]! : part;
    errors[key] = errors[key] ? `${errors[key]}; ${text}` : text;
  }
  return errors;
}
