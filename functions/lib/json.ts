/** A JSON object from text, or undefined when the text is not one (garbage, an array, a string…). */
export function parseJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A field in either casing: Step Functions answers PascalCase, the SDKs camelCase. */
export function field(object: Record<string, unknown> | undefined, name: string): unknown {
  if (!object) return undefined;
  return object[name] ?? object[name.charAt(0).toLowerCase() + name.slice(1)];
}

/** A non-blank string, trimmed; anything else is undefined. */
export const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
