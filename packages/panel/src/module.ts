import { PanelPlugin } from '@grafana/data';
import { FootfallPanel } from './components/FootfallPanel.tsx';
import { DEFAULT_OPTIONS, type FootfallOptions } from '@footfall/browser/settings.ts';

export const plugin = new PanelPlugin<Partial<FootfallOptions>>(FootfallPanel).setPanelOptions((builder) =>
  builder
    .addTextInput({
      path: 'endpoint',
      name: 'Endpoint',
      description: 'OTLP/HTTP metrics URL. Empty: <Grafana sub-path>/footfall/v1/metrics on this origin, so the session cookie goes along.',
      defaultValue: DEFAULT_OPTIONS.endpoint,
      settings: { placeholder: '/footfall/v1/metrics' },
    })
    .addNumberInput({
      path: 'heartbeatIntervalSeconds',
      name: 'Heartbeat interval (s)',
      description: 'How often an open, visible dashboard reports that it is still being looked at.',
      defaultValue: DEFAULT_OPTIONS.heartbeatIntervalSeconds,
      settings: { min: 1, max: 3600, integer: true },
    })
    .addNumberInput({
      path: 'exportIntervalSeconds',
      name: 'Export interval (s)',
      description: 'How often counts are sent. They are also sent when the tab is hidden or closed.',
      defaultValue: DEFAULT_OPTIONS.exportIntervalSeconds,
      settings: { min: 1, max: 3600, integer: true },
    })
    .addNumberInput({
      path: 'inactivityTimeoutMinutes',
      name: 'Inactivity timeout (min)',
      description: 'A tab hidden this long ends its session; a reload within it resumes the session.',
      defaultValue: DEFAULT_OPTIONS.inactivityTimeoutMinutes,
      settings: { min: 1, max: 1440, integer: true },
    })
    .addTextInput({
      path: 'variableAllowList',
      name: 'Variables to record',
      description: 'Comma-separated variable names. Empty records every variable.',
      defaultValue: DEFAULT_OPTIONS.variableAllowList,
    })
    .addBooleanSwitch({
      path: 'sendIdentity',
      name: 'Send login and name',
      description: 'Off by default. Turn on only where the collector cannot learn the user from Grafana’s session.',
      defaultValue: DEFAULT_OPTIONS.sendIdentity,
    })
    .addBooleanSwitch({
      path: 'debug',
      name: 'Debug',
      description: 'Show the session id, the last export and the last error in the panel.',
      defaultValue: DEFAULT_OPTIONS.debug,
    }),
);
