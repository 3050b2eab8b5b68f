/**
 * The agent protocol, shared by the Docker and LXC backends: a few lines of /bin/sh already inside a container
 * wait for one command, so running it costs a fork instead of a new engine exec (docker exec, lxc-attach).
 *
 * One way, on the agent's stdin: a line holding a nonce, then the script, then a line holding the nonce again.
 * The agent evaluates the script once and exits: one command per agent, which is what a pool of fresh containers
 * hands out anyway. What the script prints back is marked with the nonce (see `agentMarkers`, AgentOutput).
 */
export const agentScript = agentScriptAfter([]);

/**
 * The agent script with `prelude` (shell lines) run first, once its SIGTERM trap is set: what a backend has the
 * agent do to a container before it waits for its command (Docker's loopback-only containers, docker-agent.ts).
 */
export function agentScriptAfter(prelude: readonly string[]): string {
  return [
    'trap "exit 0" TERM',
    ...prelude,
    'if IFS= read -r t; then',
    '  s=',
    // Line by line up to the closing nonce, so arguments may hold newlines and no tool but the shell is needed.
    '  while IFS= read -r l; do [ "$l" = "$t" ] && break; s="$s$l',
    '"; done',
    '  eval "$s"',
    'else',
    // No stdin at all (a Docker container made without OpenStdin): keep the container alive as a plain sleep loop.
    '  while :; do sleep 3600 & wait $!; done',
    'fi',
  ].join('\n');
}

/** What the script prints, each marker on a line of its own prefixed by the nonce, so output can never fake one. */
export const agentMarkers = {
  /** On stderr, before the command: the agent got the script and is about to run it. */
  started: 'started',
  /** On stderr, after the command: its exit status (`<nonce>:exit:<status>`). */
  exit: 'exit:',
  /** On stderr instead of running anything: the working directory does not exist. */
  noCwd: 'nocwd',
  /** On stdout, last: everything the command wrote to stdout came before it. */
  end: 'end',
} as const;

/** An environment variable name the shell can `export`; others are passed with env(1). */
function isShellName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** `value` in single quotes, safe for any bytes but NUL (which no argument can hold). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface AgentScriptOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/**
 * The bytes to write to the agent's stdin to run `argv`. The command gets its own session (setsid, when the
 * image has it), as an engine exec gives it, so a `kill 0` in it does not reach the agent; its stdin is
 * /dev/null, as an exec's is without `-i`.
 */
export function agentInput(nonce: string, argv: readonly string[], { env, cwd }: AgentScriptOptions = {}): string {
  const marker = (name: string): string => shellQuote(`${nonce}:${name}`);
  const lines = [`echo ${marker(agentMarkers.started)} >&2`];
  if (cwd !== undefined) {
    lines.push(`cd -- ${shellQuote(cwd)} 2>/dev/null || { echo ${marker(agentMarkers.noCwd)} >&2; echo ${marker(agentMarkers.end)}; exit 0; }`);
  }
  // Names the shell cannot export (Docker takes any name without `=`) go through env(1), as exec would set them.
  const oddNames: string[] = [];
  for (const [name, value] of Object.entries(env ?? {})) {
    const assignment = shellQuote(`${name}=${value}`);
    if (isShellName(name)) lines.push(`export ${assignment}`);
    else oddNames.push(assignment);
  }
  const envPrefix = oddNames.length === 0 ? '' : `env ${oddNames.join(' ')} `;
  lines.push('S=; command -v setsid >/dev/null 2>&1 && S=setsid');
  lines.push(`${envPrefix}$S ${argv.map(shellQuote).join(' ')} </dev/null`);
  lines.push('s=$?');
  lines.push(`echo ${shellQuote(`${nonce}:${agentMarkers.exit}`)}"$s" >&2`);
  lines.push(`echo ${marker(agentMarkers.end)}`);
  return `${nonce}\n${lines.join('\n')}\n${nonce}\n`;
}
