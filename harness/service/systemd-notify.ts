import { execa } from 'execa';

/** What the service tells a supervisor about its life. Both calls may reject; the service logs that and goes on. */
export interface ServiceNotifier {
  /** The socket listens and the pool has started (its first creations begun): clients can be served. */
  ready(status: string): Promise<void>;
  /** The service has begun its shutdown. */
  stopping(): Promise<void>;
}

export interface SystemdNotifierOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The program that sends the message. @default 'systemd-notify' (from the PATH) */
  readonly command?: string;
  /** A notification that takes longer is abandoned (and reported as failed). @default 10000 (systemd-notify gives up on systemd after 5 s itself) */
  readonly timeoutMs?: number;
}

/**
 * The sd_notify(3) protocol for a `Type=notify` unit, or undefined when `NOTIFY_SOCKET` is unset (not started by
 * systemd, or not as Type=notify): then nothing is sent, and nothing is run.
 *
 * The message is a datagram on the unix socket `NOTIFY_SOCKET` names, and Node has no unix datagram sockets, so
 * `systemd-notify` sends it. It is a child of the service, not its main process, so the unit needs
 * `NotifyAccess=all`. Since systemd 246 systemd-notify waits until systemd has read the message (the
 * sd_notify_barrier handshake), so it is not lost when the helper exits before systemd looks at who sent it.
 */
export function systemdNotifier(options: SystemdNotifierOptions = {}): ServiceNotifier | undefined {
  const env = options.env ?? process.env;
  const socket = env['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return undefined;
  const command = options.command ?? 'systemd-notify';
  const send = async (args: string[]): Promise<void> => {
    await execa(command, args, { env: { NOTIFY_SOCKET: socket }, stdin: 'ignore', timeout: options.timeoutMs ?? 10_000 });
  };
  return {
    ready: (status) => send(['--ready', `--status=${status}`]),
    stopping: () => send(['STOPPING=1']),
  };
}
