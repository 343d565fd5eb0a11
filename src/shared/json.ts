/** Parses JSON text stored by the adapter itself (a row's columns); `fallback` when it is absent or unreadable. */
export function parseJsonOr<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
