import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isLabConfigShape } from '../config/lab-config-shape.js';
import type { LabConfig } from '../config/lab-config.js';
import { labConfigFromServiceConfig } from '../config/one-kind-config.js';
import { UsageError } from '../usage-error.js';
import { parseServeArgs } from './service-config.js';

/** What `warmpool serve` was asked to do. */
export type ServeInvocation =
  | { readonly printSchema: true }
  | {
      readonly printSchema: false;
      /** The config to start with. */
      readonly config: LabConfig;
      /** Reads the config again from the same flags and file (SIGHUP). */
      readonly load: () => LabConfig;
    };

/**
 * `warmpool serve` takes either a host config file of kinds (`--config lab.json`, the shape with `kinds`/`host`;
 * nothing else on the command line then) or today's flags, optionally with a flat config file, which make one kind.
 * Either way the service runs from a LabConfig, and a reload reads it again the same way.
 */
export async function parseServeInvocation(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeInvocation> {
  if (args.includes('--print-schema')) {
    if (args.length > 1) throw new UsageError('--print-schema takes no other option');
    return { printSchema: true };
  }
  const labFile = labConfigFileOf(args);
  if (labFile !== undefined) {
    const others = args.filter((arg) => arg !== '--config' && arg !== labFile && arg !== `--config=${labFile}`);
    if (others.length > 0) {
      throw new UsageError(`${labFile} is a host config of kinds: everything is set in it, so ${others[0] ?? ''} cannot be given too`);
    }
    // The schema (zod) is loaded only for a host config file.
    const { loadLabConfig } = await import('../config/lab-config.js');
    const load = (): LabConfig => loadLabConfig(labFile, env);
    return { printSchema: false, config: load(), load };
  }
  const load = (): LabConfig => labConfigFromServiceConfig(parseServeArgs(args, env), env);
  return { printSchema: false, config: load(), load };
}

/** The `--config` file when it holds the host/kinds shape; undefined for flags or a flat config. */
function labConfigFileOf(args: string[]): string | undefined {
  let path: string | undefined;
  try {
    path = parseArgs({ args, options: { config: { type: 'string' } }, strict: false }).values.config as string | undefined;
  } catch {
    return undefined;
  }
  if (typeof path !== 'string') return undefined;
  try {
    return isLabConfigShape(JSON.parse(readFileSync(path, 'utf8'))) ? path : undefined;
  } catch {
    // Unreadable or not JSON: the flat config's parser names the problem.
    return undefined;
  }
}
