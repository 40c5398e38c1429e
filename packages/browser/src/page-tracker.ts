/**
 * The one tracker of this page, made on first use, and its Echo backend, registered once: every
 * instance of the panel (and every dashboard the SPA shows) shares them.
 */
import { EchoEventType, registerEchoBackend } from '@grafana/runtime';
import { createPageTracker, type PageTracker, type Platform } from './tracker.ts';

let tracker: PageTracker | undefined;
let echoRegistered = false;

function browserPlatform(): Platform {
  let storage: Storage | undefined;
  try {
    storage = window.sessionStorage;
  } catch {
    // Storage disabled by the browser's privacy settings: sessions are not resumed after a reload.
  }
  return {
    window,
    document,
    storage,
    fetch: window.fetch.bind(window),
    now: () => Date.now(),
    navigatorLanguage: navigator.language,
  };
}

/** The page's tracker, with Grafana's query events wired to it. */
export function pageTracker(version: string): PageTracker {
  tracker ??= createPageTracker(browserPlatform(), version);
  if (!echoRegistered) {
    try {
      const t = tracker;
      registerEchoBackend({
        supportedEvents: [EchoEventType.MetaAnalytics],
        options: {},
        flush: () => undefined,
        addEvent: (event) => t.onEchoEvent(event),
      });
      echoRegistered = true;
    } catch {
      // Grafana sets its Echo service up before plugins load; without one there are no query events.
    }
  }
  return tracker;
}
