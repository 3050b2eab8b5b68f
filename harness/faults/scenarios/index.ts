import type { FaultContext } from '../fault-context.js';
import type { ScenarioOutcome } from '../fault-figures.js';
import { badClients } from './bad-clients.js';
import { dockerEngineRestart } from './docker-engine-restart.js';
import { hangingFactory } from './hanging-factory.js';
import { lxcStopAll } from './lxc-stop-all.js';
import { pooledKill } from './pooled-kill.js';
import { runSigkill } from './run-sigkill.js';
import { serveSigkill } from './serve-sigkill.js';

export interface Scenario {
  /** The id `--only` takes and the JSON carries. */
  readonly id: string;
  run(context: FaultContext): Promise<ScenarioOutcome>;
}

/** Every scenario, in the order they run. The engine restart is Docker's own dockerd or LXC's stop-all. */
export const scenarios: readonly Scenario[] = [
  { id: 'pooled-kill', run: pooledKill },
  { id: 'engine-restart', run: (context) => (context.backend === 'docker' ? dockerEngineRestart(context) : lxcStopAll(context)) },
  { id: 'serve-sigkill', run: serveSigkill },
  { id: 'run-sigkill', run: runSigkill },
  { id: 'bad-clients', run: badClients },
  { id: 'hanging-factory', run: hangingFactory },
];

export const scenarioIds: readonly string[] = scenarios.map((scenario) => scenario.id);
