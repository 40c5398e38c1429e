import { useEffect, useState } from 'react';
import type { PanelProps } from '@grafana/data';
import { dashboardIdentity } from '@footfall/browser/grafana-context.ts';
import { rawTimeText } from '@footfall/browser/selections.ts';
import type { PanelView } from '@footfall/browser/tracker.ts';
import { resolveOptions, type FootfallOptions } from '@footfall/browser/settings.ts';
import { panelHub } from '../hub.ts';
import { DebugView } from './DebugView.tsx';

type Props = PanelProps<Partial<FootfallOptions>>;

/** Everything the tracker needs from the panel's props; never throws, whatever Grafana hands over. */
function viewOf(props: Props): PanelView | undefined {
  try {
    const { uid, title } = dashboardIdentity(props.replaceVariables);
    const raw = props.timeRange?.raw;
    return {
      dashboardUid: uid,
      dashboardTitle: title,
      timeZone: typeof props.timeZone === 'string' ? props.timeZone : '',
      timeFrom: rawTimeText(raw?.from),
      timeTo: rawTimeText(raw?.to),
      options: resolveOptions(props.options),
    };
  } catch {
    return undefined;
  }
}

/**
 * The panel: invisible by default (it sits at the top of a dashboard, transparent, with an empty
 * title). It hands what it knows to the page's hub, whose tracker does the recording; unmounting does
 * not end the session. With the footfall app on the page, the app's settings win and every dashboard
 * is tracked anyway: the panel then only adds what it knows (its dashboard's title and time zone).
 */
export function FootfallPanel(props: Props) {
  // The panel's identity for the hub: one object for as long as this panel is mounted.
  const [instance] = useState<object>(() => ({}));
  const view = viewOf(props);
  // One string that changes when anything the tracker cares about changes.
  const viewKey = JSON.stringify(view ?? null);

  useEffect(() => {
    if (view) {
      panelHub().attachPanel(instance, view);
    }
    // `view` is a new object every render; `viewKey` says when its content changed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [instance, viewKey]);

  useEffect(() => () => panelHub().detachPanel(instance), [instance]);

  if (!view?.options.debug) {
    return null;
  }
  return <DebugView hub={panelHub()} />;
}
