/** Builds the app into dist/ (see packages/browser/scripts/build-plugin.ts). */
import { fileURLToPath } from 'node:url';
import { buildPlugin } from '@footfall/browser/scripts/build-plugin.ts';

await buildPlugin({ root: fileURLToPath(new URL('..', import.meta.url)) });
