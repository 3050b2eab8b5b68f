import { registerServiceScenarios } from '../../fixtures/service/service-scenarios.js';

registerServiceScenarios('docker');
