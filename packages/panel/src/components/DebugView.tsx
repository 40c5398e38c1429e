import { useEffect, useState } from 'react';
import type { PageHub } from '@footfall/browser/hub.ts';
import type { DebugInfo } from '@footfall/browser/tracker.ts';

function time(ms: number | undefined): string {
  return ms === undefined ? 'never' : new Date(ms).toISOString();
}

function describe(info: DebugInfo | undefined): string[] {
  if (!info) {
    return ['footfall: loading'];
  }
  const d = info.delivery;
  return [
    `tracked by: ${info.host}`,
    `session: ${info.sessionId ?? `none${info.skipped ? ` (${info.skipped})` : ''}`}`,
    `dashboard: ${info.dashboardUid ?? '-'}`,
    `engagement: ${info.engagement}`,
    `last export: ${time(d?.lastSuccessAt)}`,
    `last error: ${d?.lastError ?? 'none'}`,
    `pending series: ${d?.pending ?? 0}, dropped: ${d?.dropped ?? 0}`,
  ];
}

/** What the panel shows with the debug option on: enough to tell whether and where it reports. */
export function DebugView({ hub }: { hub: PageHub }) {
  const [lines, setLines] = useState<string[]>(() => describe(hub.debugInfo()));
  useEffect(() => {
    const refresh = () => setLines(describe(hub.debugInfo()));
    // Effects run child first: the panel attaches to the tracker after this one, so look again right after.
    const first = setTimeout(refresh, 0);
    const timer = setInterval(refresh, 1000);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [hub]);
  return (
    <pre
      data-testid="footfall-debug"
      style={{ margin: 0, fontSize: 11, lineHeight: 1.4, overflow: 'auto', height: '100%' }}
    >
      {lines.join('\n')}
    </pre>
  );
}
