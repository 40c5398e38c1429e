/**
 * The page lifecycle as machine events: visibility and focus (engagement), `pagehide` (the page goes
 * away: a close, a reload, or the back/forward cache) and `pageshow` (back from that cache).
 */
import { engagementOf } from '../engagement.ts';
import type { MachineEvent } from '../machine.ts';

export interface LifecyclePage {
  readonly window: Pick<Window, 'addEventListener' | 'removeEventListener'>;
  readonly document: Pick<Document, 'visibilityState' | 'hasFocus' | 'addEventListener' | 'removeEventListener'>;
  readonly now: () => number;
}

/** Listens until the returned function is called. */
export function followPageLifecycle(page: LifecyclePage, dispatch: (event: MachineEvent) => void): () => void {
  const persisted = (event: Event): boolean => (event as PageTransitionEvent).persisted === true;
  const engagement = (): void => dispatch({ type: 'engagement', at: page.now(), state: engagementOf(page.document) });
  const pagehide = (event: Event): void => dispatch({ type: 'pagehide', at: page.now(), persisted: persisted(event) });
  const pageshow = (event: Event): void =>
    dispatch({ type: 'pageshow', at: page.now(), persisted: persisted(event), state: engagementOf(page.document) });

  page.document.addEventListener('visibilitychange', engagement);
  page.window.addEventListener('focus', engagement);
  page.window.addEventListener('blur', engagement);
  page.window.addEventListener('pagehide', pagehide);
  page.window.addEventListener('pageshow', pageshow);
  return () => {
    page.document.removeEventListener('visibilitychange', engagement);
    page.window.removeEventListener('focus', engagement);
    page.window.removeEventListener('blur', engagement);
    page.window.removeEventListener('pagehide', pagehide);
    page.window.removeEventListener('pageshow', pageshow);
  };
}
