import { registerKindScenarios } from '../../fixtures/service/kinds-scenarios.js';

registerKindScenarios('docker');
