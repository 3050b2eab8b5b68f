import type Dockerode from 'dockerode';
import { execa } from 'execa';
import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { engineStatusCode } from '../../lib/backends/docker/docker-engine.js';
import { errorMessage } from '../../lib/errors.js';
import { suitePython } from './real-suite-command.js';

export const buildSuiteImageCommand = 'bash fixtures/images/build-python-suite-image.sh';
export const buildSuiteLxcBaseCommand = 'bash fixtures/images/build-python-suite-lxc-base.sh';

/** The real-suite part cannot run: the image (or LXC base) or the host's python is missing, or they differ. */
export class SuiteImageError extends Error {
  override readonly name = 'SuiteImageError';
}

/**
 * Checks that the Docker image exists and was built from the Debian packages the host has now (the build
 * script records `package=version ...` in the `pysuite.packages` label), and that the host has the interpreter:
 * the comparison is only fair when both sides run the same files. Resolves with the package versions.
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
  return sameAsHost(labels['pysuite.packages'], `the image ${image}`, buildSuiteImageCommand);
}

/** As checkSuiteImage, for the LXC base: its build script records the versions in `pysuite.packages` beside its config. */
export async function checkSuiteLxcBase(lxcPath: string, base: string): Promise<string> {
  let recorded: string;
  try {
    await access(join(lxcPath, base, 'config'));
    recorded = await readFile(join(lxcPath, base, 'pysuite.packages'), 'utf8');
  } catch {
    throw new SuiteImageError(`The real-suite LXC base ${base} is missing in ${lxcPath}: run \`${buildSuiteLxcBaseCommand}\``);
  }
  return sameAsHost(recorded, `the LXC base ${base}`, buildSuiteLxcBaseCommand);
}

async function sameAsHost(recorded: string | undefined, what: string, fix: string): Promise<string> {
  if (recorded === undefined || recorded.trim() === '') {
    throw new SuiteImageError(`${what} does not say which packages it holds (not built by the script): run \`${fix}\``);
  }
  try {
    await access(suitePython, constants.X_OK);
  } catch {
    throw new SuiteImageError(`${suitePython} is missing on the host, which the no-container baseline runs: run \`${fix}\` (it installs it)`);
  }
  const names = recorded.trim().split(/\s+/).map((pair) => pair.split('=')[0] ?? '');
  const host = await execa('dpkg-query', ['-W', '-f', '${Package}=${Version} ', ...names], { reject: false });
  const installed = String(host.stdout).trim();
  if (sorted(installed) !== sorted(recorded)) {
    throw new SuiteImageError(`${what} was built from ${recorded.trim()} but the host has ${installed === '' ? 'none of them' : installed}: run \`${fix}\` to rebuild it`);
  }
  return recorded.trim();
}

function sorted(pairs: string): string {
  return pairs.split(/\s+/).filter((pair) => pair !== '').sort().join(' ');
}
