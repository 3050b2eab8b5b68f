import { createLogger, isLogFormat } from '../../lib/logger.js';
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
  const say = announcer(io);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      say(messages.quitting(signal));
      process.exit(messages.quitExitCode);
    }
    say(messages.stopping(signal));
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * A line on stderr for the person at the terminal (after the ^C); with JSON logs a JSON line like the others, so a
 * log collector reading a service's stderr never meets a line it cannot parse.
 */
function announcer(io: CliIo): (text: string) => void {
  const format = process.env['WARMPOOL_LOG_FORMAT'];
  if (!isLogFormat(format) || format === 'text') return (text) => io.stderr.write(`\n${text}\n`);
  const logger = createLogger({ name: 'warmpool', level: 'info', format, stream: io.stderr });
  return (text) => logger.info(text);
}
