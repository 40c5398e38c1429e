/**
 * The dashboard context from the URL, which is the source of truth: the page (`/d/<uid>`, `/`,
 * Explore…), the variables (`var-*`, which Grafana keeps in sync with the pickers), the time range
 * (`from`, `to`) and the image renderer's `render=1`. Grafana's `dashboard-view` only enriches it
 * (adapters/echo.ts).
 */
import { isRenderFlag, type MachineEvent } from '../machine.ts';
import {
  timeRangeLabel,
  variableKinds,
  variablesFromModels,
  variablesFromSearch,
  type VariablePolicy,
  type VariableSelection,
} from '../selections.ts';

/**
 * The variables a location shows. With `preferModels` (a session about to start under a panel, which is
 * rendered inside its dashboard, so the template service is that dashboard's and also knows variables
 * kept out of the URL) the template service's models; otherwise the URL — the app sees the URL change
 * before the next dashboard's variables load — with the models' types and visibility saying which
 * parameters are ad-hoc filters, text boxes or hidden, and a name they do not know judged by its
 * value's shape.
 */
export function variablesAt(
  search: Readonly<Record<string, unknown>>,
  models: unknown,
  policy: VariablePolicy,
  preferModels: boolean
): VariableSelection {
  if (preferModels && Array.isArray(models) && models.length > 0) {
    return variablesFromModels(models, policy);
  }
  return variablesFromSearch(search, policy, variableKinds(models));
}

export function locationEvent(
  pathname: string,
  search: Readonly<Record<string, unknown>>,
  at: number,
  variables: VariableSelection
): MachineEvent {
  const { from, to } = search;
  return {
    type: 'location',
    at,
    pathname,
    render: isRenderFlag(search.render),
    variables,
    timeRange: typeof from === 'string' && typeof to === 'string' ? timeRangeLabel(from, to) : '',
    timeZone: typeof search.timezone === 'string' ? search.timezone : '',
  };
}
