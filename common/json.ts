// Reading raw JSON: objects the API server sent are read as they are, never decoded into
// typed structures and re-encoded (a field this code does not know would be lost).

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** null and undefined are both "absent": `add` replaces a null member as it would create a missing one. */
export function isAbsent(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

/** The string entries of a raw map (annotations and labels are map[string]string). */
export function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  // Object.fromEntries defines own properties, so a key like `__proto__` stays a plain key.
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A value quoted as in our messages: `"15.5s"` (JSON string syntax, so quotes and control characters show). */
export function quote(v: string): string {
  return JSON.stringify(v);
}
