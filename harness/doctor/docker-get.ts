import type Dockerode from 'dockerode';

/**
 * A GET on the Docker API that `signal` cancels. dockerode's typings do not offer a signal for `version()` and
 * `info()`, and its `getImage().inspect()` ignores one; a request left hanging on a stuck engine would keep the
 * doctor's process from exiting after it has reported, so every call the doctor makes can be cancelled.
 */
export function dockerGet<T>(docker: Dockerode, path: string, signal: AbortSignal, errors: Record<number, string> = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    docker.modem.dial(
      { path, method: 'GET', abortSignal: signal, statusCodes: { 200: true, 500: 'server error', ...errors } },
      (error: Error | null, data: unknown) => (error ? reject(error) : resolve(data as T)),
    );
  });
}
