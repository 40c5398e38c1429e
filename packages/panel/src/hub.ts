/**
 * The panel's way into the page hub: the tracker loads lazily from `footfall-model.js` beside this
 * module (the same file the app ships), so the panel's own module stays small.
 */
import { loadModel, pageHub, type PageHub } from '@footfall/browser/hub.ts';
import { FOOTFALL_VERSION } from '@footfall/browser/version.ts';

export function panelHub(): PageHub {
  return pageHub(loadModel, FOOTFALL_VERSION);
}
