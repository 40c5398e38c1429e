/**
 * What jsdom lacks and the real @grafana packages touch at import time. Grafana's own services are
 * not faked here: tests install them through @grafana/runtime's real setters.
 */
Object.defineProperty(window, 'matchMedia', {
  writable: true,
  value: (query: string) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: () => undefined,
    removeListener: () => undefined,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    dispatchEvent: () => false,
  }),
});
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

/**
 * Grafana's SystemJS, as far as footfall's modules use it: the hub loads `footfall-model.js` from
 * beside the plugin's module; here that file is its source.
 */
(globalThis as { System?: unknown }).System = {
  import: async (url: string) => {
    if (url.endsWith('/footfall-model.js')) return import('./model-entry.ts');
    throw new Error(`test-setup: no module ${url}`);
  },
};
