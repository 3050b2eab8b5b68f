import { registerSchedulerEngineTests } from '../helpers/scheduler-engine-tests.js';

// The scheduler's engine tests (statuses, retries, concurrency, invalid suites) on Docker.
registerSchedulerEngineTests('docker');
