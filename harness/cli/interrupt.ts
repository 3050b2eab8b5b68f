import type { CliIo } from './command.js';

export interface InterruptMessages {
  /** Printed on the first SIGINT/SIGTERM, which aborts the controller so the command can clean up. */
  stopping(signal: NodeJS.Signals): string;
  /** Printed on a second signal: the user will not wait, so the process exits at once. */
  quitting(signal: NodeJS.Signals): string;
  /** The exit code of that immediate exit. */
  readonly quitExitCode: number;
}

/**
 * SIGINT and SIGTERM abort `controller` (the command stops, destroys what it made and reports); a second signal
 * exits at once. Returns the function that stops listening.
 */
export function interruptOnSignals(controller: AbortController, io: CliIo, messages: InterruptMessages): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      io.stderr.write(`\n${messages.quitting(signal)}\n`);
      process.exit(messages.quitExitCode);
    }
    io.stderr.write(`\n${messages.stopping(signal)}\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
