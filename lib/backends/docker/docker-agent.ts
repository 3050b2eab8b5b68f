import { agentScript } from '../agent-protocol.js';

/**
 * The Docker agent: the main process of a pooled Docker container is the agent shell (agent-protocol.ts), reading
 * its one command from the container's stdin. A `docker exec` costs the engine a new runc process joining the
 * container's namespaces (about 40 ms on an idle 2-core machine, 3-4 times that while the pool refills); writing
 * a command to a shell that is already inside the container costs a fork. So the job's command can start in a
 * few milliseconds, which is what `execFinal` does. Until a command arrives the agent just waits, so `exec` works
 * as on any container; with no stdin at all (a container made without OpenStdin) it keeps the container alive
 * as a plain sleep loop. The container stops when the agent ends, after its one command.
 */
export const agentCommand: readonly string[] = ['/bin/sh', '-c', agentScript];
