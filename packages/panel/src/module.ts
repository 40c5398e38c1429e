import { PanelPlugin } from '@grafana/data';
import { DEFAULT_OPTIONS, SETTINGS_HELP, type FootfallOptions } from '@footfall/browser/settings.ts';
import { FootfallPanel } from './components/FootfallPanel.tsx';

const help = (key: keyof FootfallOptions) => ({ path: key, ...SETTINGS_HELP[key], defaultValue: DEFAULT_OPTIONS[key] });

export const plugin = new PanelPlugin<Partial<FootfallOptions>>(FootfallPanel).setPanelOptions((builder) =>
  builder
    .addTextInput({
      ...help('endpoint'),
      defaultValue: DEFAULT_OPTIONS.endpoint,
      settings: { placeholder: '/footfall/v1/metrics' },
    })
    .addNumberInput({
      ...help('heartbeatIntervalSeconds'),
      defaultValue: DEFAULT_OPTIONS.heartbeatIntervalSeconds,
      settings: { min: 1, max: 3600, integer: true },
    })
    .addNumberInput({
      ...help('exportIntervalSeconds'),
      defaultValue: DEFAULT_OPTIONS.exportIntervalSeconds,
      settings: { min: 1, max: 3600, integer: true },
    })
    .addNumberInput({
      ...help('inactivityTimeoutMinutes'),
      defaultValue: DEFAULT_OPTIONS.inactivityTimeoutMinutes,
      settings: { min: 1, max: 1440, integer: true },
    })
    .addTextInput({ ...help('variableAllowList'), defaultValue: DEFAULT_OPTIONS.variableAllowList })
    .addBooleanSwitch({ ...help('recordTextVariables'), defaultValue: DEFAULT_OPTIONS.recordTextVariables })
    .addBooleanSwitch({ ...help('recordHiddenVariables'), defaultValue: DEFAULT_OPTIONS.recordHiddenVariables })
    .addBooleanSwitch({ ...help('sendIdentity'), defaultValue: DEFAULT_OPTIONS.sendIdentity })
    .addBooleanSwitch({ ...help('debug'), defaultValue: DEFAULT_OPTIONS.debug })
);
