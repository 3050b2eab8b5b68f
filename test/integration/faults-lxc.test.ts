import test from 'ava';
import { registerFaultTests } from '../../harness/faults/ava-fault-tests.js';
import { assertEngine } from '../helpers/engines.js';

// The short fault suite (`warmpool faults --backend lxc --short`) on the real LXC path; its engine restart stops
// every container of a pool at once.
test.before(() => assertEngine('lxc'));
registerFaultTests(test, 'lxc');
