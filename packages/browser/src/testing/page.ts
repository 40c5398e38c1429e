/**
 * jsdom's window and document as the tracker's Platform, with the page-lifecycle signals a browser
 * would give: visibility (`document.visibilityState` plus `visibilitychange`), focus (`document.hasFocus()`
 * plus `focus`/`blur` on the window) and `pagehide`/`pageshow`.
 */
import { vi } from 'vitest';
import type { Platform } from '../tracker.ts';
import { macrotask } from './recording-fetch.ts';

export interface TestPage {
  readonly platform: Platform;
  hide(): void;
  show(): void;
  focus(): void;
  blur(): void;
  /** Only the `pagehide` event. */
  pagehide(persisted?: boolean): void;
  /** A reload or navigation away as the HTML spec orders it: `pagehide`, then the page turns hidden. */
  unload(): Promise<void>;
  /** Back from the back/forward cache (`persisted`) or a fresh show. */
  pageshow(persisted: boolean): void;
}

let visibility: DocumentVisibilityState = 'visible';
let focused = true;

/** Makes `document.visibilityState` and `document.hasFocus()` answer what the test says. */
function installLifecycleOverrides(): void {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => visibility === 'hidden' });
  Object.defineProperty(document, 'hasFocus', { configurable: true, writable: true, value: () => focused });
}

/**
 * A visible, focused page whose requests go to `fetch`. Pages made one after the other share
 * sessionStorage, as the pages of one browser tab do across a reload.
 */
export function createTestPage(fetchImpl: typeof fetch): TestPage {
  visibility = 'visible';
  focused = true;
  installLifecycleOverrides();
  const platform: Platform = {
    window,
    document,
    storage: window.sessionStorage,
    fetch: fetchImpl,
    now: () => Date.now(),
    navigatorLanguage: 'en-GB',
  };
  return {
    platform,
    hide() {
      visibility = 'hidden';
      document.dispatchEvent(new Event('visibilitychange'));
    },
    show() {
      visibility = 'visible';
      document.dispatchEvent(new Event('visibilitychange'));
    },
    focus() {
      focused = true;
      window.dispatchEvent(new FocusEvent('focus'));
    },
    blur() {
      focused = false;
      window.dispatchEvent(new FocusEvent('blur'));
    },
    pagehide(persisted = false) {
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted }));
    },
    async unload() {
      // Each event is its own task in a browser: promise chains started by one run before the next.
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
      for (let i = 0; i < 5; i++) {
        await macrotask();
      }
      visibility = 'hidden';
      document.dispatchEvent(new Event('visibilitychange'));
      for (let i = 0; i < 5; i++) {
        await macrotask();
      }
    },
    pageshow(persisted) {
      visibility = 'visible';
      window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted }));
      document.dispatchEvent(new Event('visibilitychange'));
    },
  };
}

/** A Monday morning, so no test depends on the day it runs. */
export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/**
 * Fake timers for the tracker, the SDK's reader and the exporter's retries, with Date.now following;
 * setImmediate and performance stay real so real sockets and promise chains keep moving.
 */
export function useFakeClock(start = T0): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: start });
}
