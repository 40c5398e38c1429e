/**
 * The entry of the lazily loaded part of footfall (`footfall-model.js` beside each plugin's
 * `module.js`): the tracker, the OTel SDK and the exporter, loaded once the page has something to track.
 */
import { appSubUrl, text } from './grafana-context.ts';
import type { DashboardIdentity } from './machine.ts';
import type { ModelModule } from './hub.ts';
import { createPageTracker, type Platform } from './tracker.ts';

const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * A dashboard's title and folder from Grafana's search API, as the signed-in user may see them; for a
 * dashboard whose `dashboard-view` event fired before footfall was loaded.
 */
async function lookupDashboard(uid: string): Promise<DashboardIdentity | undefined> {
  const response = await fetch(
    `${appSubUrl()}/api/search?type=dash-db&dashboardUIDs=${encodeURIComponent(uid)}&limit=1`,
    {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      // The session's counts wait for this answer: a Grafana that does not answer must not hold them long.
      signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
    }
  );
  if (!response.ok) {
    return undefined;
  }
  const hits: unknown = await response.json();
  if (!Array.isArray(hits)) {
    return undefined;
  }
  const hit = hits.find(
    (h: unknown) => typeof h === 'object' && h !== null && (h as Record<string, unknown>).uid === uid
  ) as Record<string, unknown> | undefined;
  // No folderTitle: the General folder.
  return hit ? { title: text(hit.title), folder: text(hit.folderTitle) } : undefined;
}

function browserPlatform(renderer: boolean): Platform {
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
    lookup: lookupDashboard,
    renderer,
  };
}

export const startTracker: ModelModule['startTracker'] = (early, version, renderer, zeroTouch) =>
  createPageTracker(browserPlatform(renderer), version, early, zeroTouch);
