import { registerRobustnessScenarios } from '../../fixtures/service/robustness-scenarios.js';

registerRobustnessScenarios('docker');
