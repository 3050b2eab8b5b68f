import test from 'ava';
import { registerFaultTests } from '../../harness/faults/ava-fault-tests.js';
import { assertEngine } from '../helpers/engines.js';

// The short fault suite (`warmpool faults --backend docker --short`) on the real engine; the engine-restart
// scenario stops and starts a second private dockerd of its own, never the shared one.
test.before(() => assertEngine('docker'));
registerFaultTests(test, 'docker');
