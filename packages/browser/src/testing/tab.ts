/**
 * A page of a browser tab for tracker tests: a tracker on jsdom's window, document and sessionStorage,
 * its requests recorded, and what the receiver accepted read back as OTLP points. Pages opened one
 * after the other share sessionStorage and the receiver, as the pages of one tab do across a reload.
 */
import { createPageTracker, type PageTracker, type Platform } from '../tracker.ts';
import type { WirePoint } from './otlp.ts';
import { createTestPage, type TestPage } from './page.ts';
import { createRecordingFetch, type RecordingFetch } from './recording-fetch.ts';

export interface TestTab {
  readonly net: RecordingFetch;
  readonly page: TestPage;
  readonly tracker: PageTracker;
  /** Everything the receiver accepted so far, after letting pending requests finish. */
  delivered(): Promise<WirePoint[]>;
}

/** Trackers opened by `openTestTab`, for the test's clean-up to dispose of. */
const openTrackers: PageTracker[] = [];

export function openTestTab(net: RecordingFetch = createRecordingFetch(), platform: Partial<Platform> = {}): TestTab {
  const page = createTestPage(net.fetch);
  const tracker = createPageTracker({ ...page.platform, ...platform }, '1.2.3');
  openTrackers.push(tracker);
  return {
    net,
    page,
    tracker,
    async delivered() {
      await net.idle();
      return net.delivered();
    },
  };
}

/** Disposes of every tracker `openTestTab` made. */
export async function closeTestTabs(): Promise<void> {
  for (const tracker of openTrackers.splice(0)) {
    await tracker.dispose();
  }
}
