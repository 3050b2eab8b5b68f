import { readdir, readlink } from 'node:fs/promises';

/** Rounds of looking again for processes forked while the previous round was killing. */
const maxRounds = 20;

/**
 * SIGKILLs every process of a container but its init, from the host: those whose pid namespace is the init's.
 * That ends a command and everything it started, also what left its session or process group, while the
 * container keeps running (so files can still be read out of it). Looks again until a round finds no process
 * it has not killed already: a process forked during a round is caught by the next.
 */
export async function killContainerProcesses(initPid: number): Promise<void> {
  let namespace: string;
  try {
    namespace = await readlink(`/proc/${String(initPid)}/ns/pid`);
  } catch {
    return; // The init is gone: so is every process of the container.
  }
  const killed = new Set<number>();
  for (let round = 0; round < maxRounds; round++) {
    let found = false;
    for (const entry of await readdir('/proc')) {
      const pid = Number(entry);
      if (!Number.isSafeInteger(pid) || pid <= 0 || pid === initPid || killed.has(pid)) continue;
      // A process that exited (or a zombie) has no namespace link to read: nothing to kill.
      const itsNamespace = await readlink(`/proc/${entry}/ns/pid`).catch(() => undefined);
      if (itsNamespace !== namespace) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone in between.
      }
      killed.add(pid);
      found = true;
    }
    if (!found) return;
  }
}
