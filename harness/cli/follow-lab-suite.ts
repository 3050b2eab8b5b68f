import { redactText } from '../../lib/redact.js';
import { followSuiteRun, type FollowedRunOptions } from '../lab/follow-suite-run.js';
import { exitCodes, type CliIo } from './command.js';
import { interruptOnSignals, type InterruptMessages } from './interrupt.js';

/** The exit code of a command whose user stopped following (SIGINT's conventional 128 + 2). */
const interruptedExitCode = 130;

/**
 * Follows a suite in the lab to its end for `warmpool submit` and `warmpool results`: progress on stdout, results
 * written, exit 0 when every job passed, 1 otherwise. Ctrl-C or SIGTERM stops following, not the suite (exit 130).
 */
export async function followLabSuite(
  command: 'submit' | 'results',
  io: CliIo,
  messages: Omit<InterruptMessages, 'quitExitCode'>,
  follow: Omit<FollowedRunOptions, 'stream' | 'say' | 'signal'>,
): Promise<number> {
  const controller = new AbortController();
  const stopListening = interruptOnSignals(controller, io, { ...messages, quitExitCode: interruptedExitCode });
  try {
    const { result } = await followSuiteRun({
      ...follow,
      stream: io.stdout,
      say: (line) => io.stderr.write(`warmpool ${command}: ${redactText(line)}\n`),
      signal: controller.signal,
    });
    return result.totals.passed === result.totals.jobs ? exitCodes.ok : exitCodes.failure;
  } catch (error) {
    if (controller.signal.aborted) return interruptedExitCode;
    throw error;
  } finally {
    stopListening();
  }
}
