import type Dockerode from 'dockerode';
import { execa } from 'execa';
import { access, constants } from 'node:fs/promises';
import { engineStatusCode } from '../../lib/backends/docker/docker-engine.js';
import { errorMessage } from '../../lib/errors.js';
import { suitePython } from './real-suite-command.js';

export const buildSuiteImageCommand = 'bash fixtures/images/build-python-suite-image.sh';

/** The real-suite part cannot run: the image or the host's python is missing, or they differ. */
export class SuiteImageError extends Error {
  override readonly name = 'SuiteImageError';
}

/**
 * Checks that the image exists and was built from the Debian packages the host has now (the build script
 * records `package=version ...` in the `pysuite.packages` label), and that the host has the interpreter: the
 * comparison is only fair when both sides run the same files. Resolves with the package versions.
 * @throws SuiteImageError saying what to run
 */
export async function checkSuiteImage(docker: Dockerode, image: string): Promise<string> {
  let labels: Record<string, string>;
  try {
    labels = (await docker.getImage(image).inspect()).Config.Labels ?? {};
  } catch (error) {
    if (engineStatusCode(error) === 404) throw new SuiteImageError(`The real-suite image ${image} is missing: run \`${buildSuiteImageCommand}\``);
    throw new SuiteImageError(`Could not inspect the real-suite image ${image}: ${errorMessage(error)}`);
  }
  const recorded = labels['pysuite.packages'];
  if (recorded === undefined || recorded.trim() === '') {
    throw new SuiteImageError(`The image ${image} has no pysuite.packages label (not built by the script): run \`${buildSuiteImageCommand}\``);
  }
  try {
    await access(suitePython, constants.X_OK);
  } catch {
    throw new SuiteImageError(`${suitePython} is missing on the host, which the no-container baseline runs: run \`${buildSuiteImageCommand}\` (it installs it)`);
  }
  const names = recorded.split(/\s+/).map((pair) => pair.split('=')[0] ?? '');
  const host = await execa('dpkg-query', ['-W', '-f', '${Package}=${Version} ', ...names], { reject: false });
  const installed = String(host.stdout).trim();
  if (sorted(installed) !== sorted(recorded)) {
    throw new SuiteImageError(
      `The image ${image} was built from ${recorded} but the host has ${installed === '' ? 'none of them' : installed}: run \`${buildSuiteImageCommand}\` to rebuild it`,
    );
  }
  return recorded;
}

function sorted(pairs: string): string {
  return pairs.split(/\s+/).filter((pair) => pair !== '').sort().join(' ');
}
