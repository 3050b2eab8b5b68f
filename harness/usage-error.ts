/**
 * Bad command-line or config input: the CLI prints it with the command's usage and exits 2. Its own module, below
 * the CLI, so the service's and the bench's option parsers can throw it without importing the CLI.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
