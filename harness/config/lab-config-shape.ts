/**
 * Whether a parsed config file has the host/kinds shape; today's flat shape (backend, size, …) has neither key.
 * On its own, without the schema: `warmpool serve` with today's flags never loads zod (a smaller module graph
 * starts under a low open-file limit too).
 */
export function isLabConfigShape(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (Object.hasOwn(value, 'kinds') || Object.hasOwn(value, 'host'));
}
