/**
 * Engaged time is split by what the page was doing: `focused` (visible and has focus), `visible` (on
 * screen, focus elsewhere — a wall display, a second monitor) and `hidden` (background tab,
 * minimised). The state changes on visibility and focus events; the machine credits time to the state
 * that was current, from the moment of each change, never by sampling the state when a timer fires.
 */
import type { EngagementState } from './machine.ts';

/** The state of a document right now. */
export function engagementOf(doc: Pick<Document, 'visibilityState' | 'hasFocus'>): EngagementState {
  if (doc.visibilityState === 'hidden') {
    return 'hidden';
  }
  return doc.hasFocus() ? 'focused' : 'visible';
}
