import { agentScript, agentScriptAfter, shellQuote } from '../agent-protocol.js';

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

/** What the loopback agent prints on stdout once the container is prepared and it waits for its command. */
export const agentReadyLine = 'warmpool-agent:ready';
/** What it prints instead, before it exits 1, when it could not write /etc/hosts. */
export const agentHostsFailedLine = 'warmpool-agent:hosts-failed';

/** The /etc/hosts Docker bind-mounts into a container of network mode `none`, line by line. */
const noneModeHostsLines = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** A shell command that writes those lines to /etc/hosts, /etc made if missing; it fails when the write does. */
export const writeNoneModeHosts = `{ mkdir -p /etc && printf '%s\\n' ${noneModeHostsLines.map(shellQuote).join(' ')} >/etc/hosts; } 2>/dev/null`;

/**
 * The agent of a loopback-only container (see docker-loopback.ts). Such a container gets no /etc/hosts from the
 * engine's network library; the engine still shadows the image's with an empty file of its own (its init
 * layer), as it does for every container. So the agent writes there the lines network mode `none` would have
 * mounted, and says so on stdout before it waits for its command: the factory hands the container out only
 * after that line, so nothing run in it finds `localhost` unresolvable. A write that fails (a full disk) fails
 * the creation instead.
 */
export const loopbackAgentCommand: readonly string[] = [
  '/bin/sh',
  '-c',
  agentScriptAfter([
    `${writeNoneModeHosts} || { echo ${agentHostsFailedLine}; exit 1; }`,
    `echo ${agentReadyLine}`,
  ]),
];
