/**
 * Generated classic dashboards (top-level panels and rows, collapsed rows with nested panels, ids that
 * may repeat, 2 or 4 spaces or tabs, with or without a final newline): inject overlaps nothing and
 * puts one panel at the top, a second inject changes no byte, and remove gives the original back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDashboard, transformDashboard } from './dashboard.js';
import type { JsonObject } from './json-document.js';
import { FOOTFALL_PANEL_TYPE } from './panel.js';
import { classicRects, overlaps } from './testing/layout.js';

const SETTINGS = { version: '0.1.0' };

interface Block {
  readonly kind: 'panels' | 'row' | 'collapsed';
  readonly widths: number[];
  readonly height: number;
}

/** Lays blocks out top to bottom without overlaps, the way Grafana saves a grid. */
function layout(blocks: readonly Block[], ids: readonly number[]): JsonObject[] {
  const panels: JsonObject[] = [];
  let y = 0;
  let n = 0;
  const nextId = (): number => ids[n++ % ids.length]!;
  const line = (widths: number[], height: number, top: number): JsonObject[] => {
    let x = 0;
    return widths
      .map((w) => {
        const width = Math.min(w, 24 - x);
        const panel = { gridPos: { h: height, w: width, x, y: top }, id: nextId(), title: `p${n}`, type: 'timeseries' };
        x += width;
        return panel;
      })
      .filter((p) => p.gridPos.w > 0);
  };
  for (const block of blocks) {
    if (block.kind === 'panels') {
      panels.push(...line(block.widths, block.height, y));
      y += block.height;
    } else if (block.kind === 'row') {
      panels.push({
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y },
        id: nextId(),
        panels: [],
        title: 'row',
        type: 'row',
      });
      y += 1;
    } else {
      const row: JsonObject = {
        collapsed: true,
        gridPos: { h: 1, w: 24, x: 0, y },
        id: nextId(),
        panels: [],
        title: 'closed',
        type: 'row',
      };
      row['panels'] = line(block.widths, block.height, y + 1);
      panels.push(row);
      y += 1;
    }
  }
  return panels;
}

const block = fc.record({
  kind: fc.constantFrom<Block['kind']>('panels', 'row', 'collapsed'),
  widths: fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 4 }),
  height: fc.integer({ min: 1, max: 10 }),
});

const dashboardText = fc
  .record({
    blocks: fc.array(block, { maxLength: 12 }),
    ids: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
    indent: fc.constantFrom<number | string>(2, 4, '\t'),
    newline: fc.boolean(),
  })
  .map(({ blocks, ids, indent, newline }) => {
    const dashboard = {
      title: 'generated',
      uid: 'gen',
      schemaVersion: 41,
      panels: layout(blocks, ids),
      time: { from: 'now-6h', to: 'now' },
    };
    return JSON.stringify(dashboard, null, indent) + (newline ? '\n' : '');
  });

describe('inject and remove on generated classic dashboards', () => {
  it('inject overlaps nothing, is idempotent, passes check, and remove undoes it byte for byte', () => {
    fc.assert(
      fc.property(dashboardText, (text) => {
        const injected = transformDashboard(text, 'inject', SETTINGS);
        expect(injected.status).toBe('changed');
        const after = JSON.parse(injected.text) as { panels: JsonObject[] };
        expect(after.panels[0]).toMatchObject({ type: FOOTFALL_PANEL_TYPE, gridPos: { x: 0, y: 0, w: 24, h: 1 } });
        expect(after.panels.filter((p) => p['type'] === FOOTFALL_PANEL_TYPE)).toHaveLength(1);
        expect(overlaps(classicRects(after))).toEqual([]);
        expect(checkDashboard(injected.text).status).toBe('ok');
        expect(transformDashboard(injected.text, 'inject', SETTINGS).text).toBe(injected.text);
        expect(transformDashboard(injected.text, 'remove', SETTINGS).text).toBe(text);
      }),
      { numRuns: 300 }
    );
  });
});
