import type Dockerode from 'dockerode';
import type { Readable } from 'node:stream';
import { BackendError, EngineUnavailableError, ImageUnavailableError, errorMessage } from '../../errors.js';
import { engineStatusCode, isEngineDown } from './docker-engine.js';
import { raceAbort } from './abort-race.js';

type ProgressModem = {
  followProgress(stream: Readable, onFinished: (error: Error | null, output: unknown[]) => void): void;
};

/** What a factory needs to know of its image. */
export interface ImageFacts {
  /** The user its processes run as (`Config.User`: empty for root). */
  readonly user: string;
}

/**
 * Makes sure a factory's image is on the engine, once per factory: the first creation looks, a missing image is
 * pulled once for all concurrent creations, and an image that cannot be had stays unavailable, so every later
 * creation fails fast with the same ImageUnavailableError instead of hammering a registry. An engine that does
 * not answer is not the image's fault: that failure (EngineUnavailableError) is not kept, and the next creation
 * asks again.
 */
export class DockerImageSupply {
  readonly #docker: Dockerode;
  readonly #image: string;
  #ready: Promise<ImageFacts> | undefined;

  constructor(docker: Dockerode, image: string) {
    this.#docker = docker;
    this.#image = image;
  }

  /**
   * Resolves once the image is there, with what the factory needs to know of it; rejects with
   * ImageUnavailableError, BackendError or `signal.reason`.
   */
  async ensure(signal?: AbortSignal): Promise<ImageFacts> {
    if (this.#ready === undefined) {
      const ready = this.#obtain();
      this.#ready = ready;
      // A caller that aborted no longer listens; this handler keeps a later rejection from going unhandled.
      ready.catch((error: unknown) => {
        if (!(error instanceof ImageUnavailableError) && this.#ready === ready) this.#ready = undefined;
      });
    }
    return await raceAbort(this.#ready, signal);
  }

  async #obtain(): Promise<ImageFacts> {
    const present = await this.#inspect();
    if (present !== undefined) return present;
    try {
      await this.#pull();
    } catch (error) {
      // An engine going away mid-pull says nothing about the image: not kept, so the next creation asks again.
      if (await isEngineDown(this.#docker, error)) {
        throw new EngineUnavailableError(`Pulling image ${this.#image} failed: ${errorMessage(error)}`, { cause: error });
      }
      throw new ImageUnavailableError(this.#image, error);
    }
    const pulled = await this.#inspect();
    if (pulled === undefined) {
      throw new ImageUnavailableError(this.#image, new Error('the pull finished but the engine does not have it'));
    }
    return pulled;
  }

  /** The image's facts, or undefined when the engine does not have it. */
  async #inspect(): Promise<ImageFacts | undefined> {
    try {
      const info = await this.#docker.getImage(this.#image).inspect();
      // An engine that leaves the config out (an odd proxy) runs the image as root: the engine's default.
      return { user: (info.Config as Partial<Dockerode.ImageInspectInfo['Config']> | undefined)?.User ?? '' };
    } catch (error) {
      if (engineStatusCode(error) === 404) return undefined;
      const message = `Inspecting image ${this.#image} failed: ${errorMessage(error)}`;
      if (await isEngineDown(this.#docker, error)) throw new EngineUnavailableError(message, { cause: error });
      throw new BackendError(message, { cause: error });
    }
  }

  async #pull(): Promise<void> {
    const stream = (await this.#docker.pull(this.#image)) as Readable;
    const output = await new Promise<unknown[]>((resolve, reject) => {
      (this.#docker.modem as ProgressModem).followProgress(stream, (error, events) => {
        if (error === null) resolve(events);
        else reject(error);
      });
    });
    // A failed pull often ends normally with the failure as its last progress event.
    for (const event of output) {
      if (typeof event === 'object' && event !== null && 'error' in event) {
        throw new Error(String(event.error));
      }
    }
  }
}
