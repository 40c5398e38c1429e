/**
 * The app's configuration page (Administration → Plugins → footfall): enable or disable the app for
 * this org, and edit its settings, saved as the app's `jsonData` through Grafana's plugin settings API.
 */
import { useState, type ChangeEvent } from 'react';
import type { AppPluginMeta, PluginConfigPageProps } from '@grafana/data';
import { getBackendSrv } from '@grafana/runtime';
import { Alert, Button, Field, FieldSet, Input, Switch } from '@grafana/ui';
import { resolveOptions, SETTINGS_HELP, type FootfallOptions } from '@footfall/browser/settings.ts';

type Props = PluginConfigPageProps<AppPluginMeta<Partial<FootfallOptions>>>;

const NUMBERS = ['heartbeatIntervalSeconds', 'exportIntervalSeconds', 'inactivityTimeoutMinutes'] as const;
const TEXTS = ['endpoint', 'variableAllowList'] as const;
const SWITCHES = ['recordTextVariables', 'recordHiddenVariables', 'sendIdentity'] as const;

export function ConfigPage({ plugin }: Props) {
  const meta = plugin.meta;
  const [settings, setSettings] = useState<FootfallOptions>(() => resolveOptions(meta.jsonData));
  const [error, setError] = useState<string | undefined>();
  const set = <K extends keyof FootfallOptions>(key: K, value: FootfallOptions[K]) =>
    setSettings((s) => ({ ...s, [key]: value }));

  async function save(enabled: boolean): Promise<void> {
    try {
      // The debug option is the panel's; the app has no view to show it in.
      const { debug: _debug, ...jsonData } = resolveOptions(settings);
      await getBackendSrv().post(`/api/plugins/${meta.id}/settings`, { enabled, pinned: enabled, jsonData });
      // Grafana reads boot data (which apps to preload) once per page: load the page again.
      window.location.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : 'saving failed');
    }
  }

  return (
    <div>
      {error && <Alert title="The settings were not saved">{error}</Alert>}
      <FieldSet label="Recording">
        {TEXTS.map((key) => (
          <Field key={key} label={SETTINGS_HELP[key].name} description={SETTINGS_HELP[key].description}>
            <Input
              id={key}
              value={settings[key]}
              onChange={(e: ChangeEvent<HTMLInputElement>) => set(key, e.currentTarget.value)}
            />
          </Field>
        ))}
        {NUMBERS.map((key) => (
          <Field key={key} label={SETTINGS_HELP[key].name} description={SETTINGS_HELP[key].description}>
            <Input
              id={key}
              type="number"
              value={settings[key]}
              onChange={(e: ChangeEvent<HTMLInputElement>) => set(key, Number(e.currentTarget.value))}
            />
          </Field>
        ))}
        {SWITCHES.map((key) => (
          <Field key={key} label={SETTINGS_HELP[key].name} description={SETTINGS_HELP[key].description}>
            <Switch
              id={key}
              value={settings[key]}
              onChange={(e: ChangeEvent<HTMLInputElement>) => set(key, e.currentTarget.checked)}
            />
          </Field>
        ))}
      </FieldSet>
      {meta.enabled ? (
        <>
          <Button onClick={() => void save(true)}>Save settings</Button>{' '}
          <Button variant="destructive" onClick={() => void save(false)}>
            Disable
          </Button>
        </>
      ) : (
        <Button onClick={() => void save(true)}>Enable</Button>
      )}
    </div>
  );
}
