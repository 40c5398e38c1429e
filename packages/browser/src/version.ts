declare const __FOOTFALL_VERSION__: string | undefined;

/** The plugins' version, put in by the build (`service.version` on every export). */
export const FOOTFALL_VERSION: string = typeof __FOOTFALL_VERSION__ === 'string' ? __FOOTFALL_VERSION__ : '0.0.0-dev';
