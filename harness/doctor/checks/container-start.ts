import type { RunnableContainer } from '../../../lib/container.js';
import { errorMessage } from '../../../lib/errors.js';
import { createBackendFactory, reapBackendOrphans, type BackendSettings } from '../../backend.js';
import { fail, pass, type CheckOutcome, type DoctorCheck } from '../check.js';

/**
 * The pool id the doctor's trial containers are made in: never the pool under examination, whose containers the
 * doctor only looks at. Fixed rather than random, so a doctor that was killed mid-check leaves its trial
 * container where the next doctor (which reaps this pool's orphans first) removes it.
 */
export const doctorPoolId = 'doctor';

/** What a container runs to prove it can run commands when serve has no readiness command. */
const smokeCommand = ['/bin/sh', '-c', 'exit 0'];
const smokeTimeoutMs = 10_000;

/**
 * A container starts and passes its readiness command: made by the same factory serve uses, with the same
 * settings, in the doctor's own pool, then removed. Bounded by `containerTimeoutMs`; on the deadline the
 * factory's signal aborts, and it removes the half-made container before the check ends.
 */
export const containerStartCheck: DoctorCheck = {
  id: 'container',
  needs: ['engine', 'image'],
  timeoutMs: (context) => context.containerTimeoutMs,
  async run({ settings }, signal) {
    const trial: BackendSettings = { ...settings, poolId: doctorPoolId };
    // Leftovers of doctors that were killed; a failure here is the creation's business, reported below.
    await reapBackendOrphans(trial).catch(() => undefined);
    const factory = createBackendFactory(trial);
    const started = performance.now();
    let container: RunnableContainer;
    try {
      container = await factory.createContainer({ signal });
    } catch (error) {
      if (signal.aborted) throw error;
      return fail(`no ${settings.backend} container started: ${errorMessage(error)}`, creationFix(settings));
    }
    let outcome: CheckOutcome;
    try {
      outcome = await proveItRuns(container, settings, signal, started);
    } catch (error) {
      // Even at the deadline: the container is removed below before the check ends.
      outcome = fail(`container ${container.name} started but could not run a command: ${errorMessage(error)}`, creationFix(settings));
    }
    try {
      await container.destroy();
    } catch (error) {
      return fail(
        `the trial container ${container.name} could not be removed: ${errorMessage(error)}`,
        `\`warmpool reap --backend ${settings.backend} --pool-id ${doctorPoolId} --force\` removes it once the engine lets it`,
      );
    }
    return outcome;
  },
};

/** The factory ran the readiness command if there is one; without one, one command shows the container is usable. */
async function proveItRuns(container: RunnableContainer, settings: BackendSettings, signal: AbortSignal, started: number): Promise<CheckOutcome> {
  let proof = `passed its readiness command ${JSON.stringify(settings.readinessCommand)}`;
  if (settings.readinessCommand === undefined) {
    const result = await container.exec(smokeCommand, { signal, timeoutMs: smokeTimeoutMs });
    if (result.exitCode !== 0) {
      const output = (result.stderr || result.stdout).trim();
      return fail(`container ${container.name} started but \`${smokeCommand.join(' ')}\` exited with ${result.exitCode}${output ? `: ${output}` : ''}`, creationFix(settings));
    }
    proof = 'ran a command in it (no readiness command is set)';
  }
  return pass(`container ${container.name} started and ${proof} in ${Math.round(performance.now() - started)} ms`);
}

function creationFix(settings: BackendSettings): string {
  const readiness = settings.readinessCommand ? ` and that ${JSON.stringify(settings.readinessCommand)} succeeds in it` : '';
  if (settings.backend === 'docker') {
    return `check that ${settings.dockerImage} runs /bin/sh${readiness} (docker run --rm ${settings.dockerImage} /bin/sh -c true), and the engine's log (journalctl -u docker)`;
  }
  return `check that the base ${settings.lxcBase} starts${readiness} (lxc-start -P ${settings.lxcPath} -n ${settings.lxcBase} -F shows why not)`;
}
