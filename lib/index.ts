export { Pool, type GetOptions, type CleanupOptions, type CleanupResult, type EngineState } from './pool.js';
export type { RemovalReason } from './removal-queue.js';
export type { PoolOptions } from './pool-options.js';
export { HostPools, type HostPoolsOptions, type ReconfigureReport } from './host-pools.js';
export type { KindSpec, KindStatus, KindPoolOptions } from './kind.js';
export { HostBudget, type HostBudgetOptions } from './host-budget.js';
export { DemandSizer, type DemandSizingOptions, type CheckoutOutcome } from './demand-sizing.js';
export { timedOutExitCode } from './container.js';
export type {
  Container,
  ContainerFactory,
  CreateContainerOptions,
  ContainerDescriptor,
  ContainerDeath,
  ContainerState,
  WatchHandlers,
  ExecOptions,
  ExecResult,
  RunnableContainer,
} from './container.js';
export { type Clock, systemClock } from './clock.js';
export { backoffDelayMs, watchReconnectBackoff, type BackoffPolicy } from './backoff.js';
export { ErrorQueue, type ErrorEntry } from './error-queue.js';
export type { PoolEvents, PoolEventName, PoolListener } from './pool-events.js';
export { createLogger, type PoolLogger, type LogLevel } from './logger.js';
export * from './errors.js';
export * from './backends/docker/index.js';
export * from './backends/lxc/index.js';
export { isProcessAlive, validatePoolId } from './backends/owner.js';
