export { LxcFactory } from './lxc-factory.js';
export type { LxcFactoryOptions, ResolvedLxcFactoryOptions } from './lxc-factory-options.js';
export { LxcContainer, openLxcContainer, type LxcContainerOptions } from './lxc-container.js';
export { reapLxcOrphans, type LxcReapOptions, type LxcReapResult } from './lxc-reaper.js';
export { buildLxcName, parseLxcName, validateLxcName, lxcNamePattern, type LxcNameParts } from './lxc-names.js';
export { destroyLxcContainer } from './lxc-destroy.js';
