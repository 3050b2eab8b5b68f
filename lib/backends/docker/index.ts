export { DockerFactory } from './docker-factory.js';
export type { DockerFactoryOptions } from './docker-factory-options.js';
export { DockerContainer, openDockerContainer } from './docker-container.js';
export type { OpenDockerContainerOptions } from './docker-container.js';
export type { DockerEngine } from './docker-engine.js';
export { reapDockerOrphans } from './docker-reaper.js';
export type { ReapDockerOrphansOptions, ReapResult } from './docker-reaper.js';
export { poolLabel, createdLabel, pidLabel, hostLabel } from './docker-labels.js';
