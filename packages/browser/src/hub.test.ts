/**
 * The page hub on its own (one per jsdom window, as one per tab): what it does before the tracker is
 * loaded, and the page going away while it loads.
 */
import { expect, test } from 'vitest';
import { locationService } from '@grafana/runtime';
import { pageHub, type ModelModule } from './hub.ts';
import { installDeliveringEchoSrv } from './testing/echo.ts';
import { resetGrafana } from './testing/grafana.ts';

test('a page that goes away (not into the back/forward cache) while the tracker loads starts none; the hub is the tab’s one', async () => {
  installDeliveringEchoSrv();
  resetGrafana();
  locationService.push('/d/sales/sales-overview?orgId=1');
  let deliver!: (model: ModelModule) => void;
  let loads = 0;
  const hub = pageHub(() => {
    loads += 1;
    return new Promise<ModelModule>((resolve) => (deliver = resolve));
  }, 'test');
  hub.enableZeroTouch({});
  expect(loads).toBe(1);
  // Another plugin's module on the same page gets the same hub, and its loader is not used.
  expect(pageHub(async () => Promise.reject(new Error('not this one')), 'other')).toBe(hub);

  window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
  deliver((await import('./model-entry.ts')) as ModelModule);
  expect(await hub.ready()).toBeUndefined();
  expect(hub.debugInfo()).toBeUndefined();
  expect(loads).toBe(1);
});
