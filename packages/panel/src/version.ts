declare const __FOOTFALL_PANEL_VERSION__: string | undefined;

/** The panel's version, put in by the build (`service.version` on every export). */
export const PANEL_VERSION: string =
  typeof __FOOTFALL_PANEL_VERSION__ === 'string' ? __FOOTFALL_PANEL_VERSION__ : '0.0.0-dev';
