import { afterEach, describe, expect, test } from 'vitest';
import { config } from '@grafana/runtime';
import {
  legacyReplaceVariables,
  resetGrafana,
  scenesReplaceVariables,
  uninterpolated,
  USER_11,
  USER_12_1,
  USER_13_1,
} from './testing/grafana.ts';
import { currentGrafana, dashboardIdentity, readUser, resolveEndpoint } from './grafana-context.ts';
import { classifyPath } from './machine.ts';

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

afterEach(() => resetGrafana());

describe('readUser', () => {
  test.each([
    ['11.x (locale)', USER_11, 'de-DE'],
    ['12.1–13.0 (regionalFormat)', USER_12_1, 'fr-FR'],
    ['13.1+ (language only)', USER_13_1, 'pt-BR'],
  ])('Grafana %s', (_version, user, locale) => {
    expect(readUser(user, 'en-GB')).toEqual({
      role: 'Editor',
      theme: 'dark',
      timezone: 'Europe/Berlin',
      locale,
      login: 'jdoe',
      name: 'Jane Doe',
    });
  });

  test('the chosen language wins over the regional format; the browser language is the last resort', () => {
    expect(readUser({ ...USER_12_1, language: 'nl-NL' }, 'en-GB').locale).toBe('nl-NL');
    expect(readUser({ ...USER_13_1, language: '' }, 'en-GB').locale).toBe('en-GB');
    expect(readUser({ ...USER_13_1, language: '' }, undefined).locale).toBe('');
  });

  test('anonymous access', () => {
    const anonymous = {
      isSignedIn: false,
      id: 0,
      login: '',
      name: '',
      orgRole: 'Viewer',
      orgId: 1,
      theme: 'light',
      timezone: '',
      language: '',
    };
    expect(readUser(anonymous, 'sv-SE')).toEqual({
      role: 'Anonymous',
      theme: 'light',
      timezone: browserZone,
      locale: 'sv-SE',
      login: '',
      name: '',
    });
  });

  test('a user without a role in this org', () => {
    expect(readUser({ ...USER_13_1, orgRole: '' }, 'en-GB').role).toBe('None');
  });

  test('only the deprecated lightTheme', () => {
    const { theme: _theme, ...noTheme } = USER_11;
    expect(readUser({ ...noTheme, lightTheme: true }, 'en-GB').theme).toBe('light');
    expect(readUser({ ...noTheme, lightTheme: false }, 'en-GB').theme).toBe('dark');
    expect(readUser({ ...USER_13_1, theme: 'system', lightTheme: true }, 'en-GB').theme).toBe('system');
  });

  test('time zone "browser" or unset is the browser\'s own zone', () => {
    expect(readUser({ ...USER_13_1, timezone: 'browser' }, 'en-GB').timezone).toBe(browserZone);
    expect(readUser({ ...USER_13_1, timezone: '' }, 'en-GB').timezone).toBe(browserZone);
    expect(readUser({ ...USER_13_1, timezone: 'utc' }, 'en-GB').timezone).toBe('utc');
  });

  test.each([undefined, null, 'x', 42, {}])('garbage (%j) gives a usable user, without throwing', (user) => {
    const u = readUser(user, 'en-GB');
    expect(u).toMatchObject({ role: 'None', login: '', name: '', locale: 'en-GB' });
  });
});

describe('classifyPath', () => {
  test.each([
    ['/d/abc123/sales-overview', { kind: 'dashboard', uid: 'abc123' }],
    ['/d/abc123', { kind: 'dashboard', uid: 'abc123' }],
    ['/d/a%20b/x', { kind: 'dashboard', uid: 'a b' }],
    ['/d-solo/abc123/sales-overview', { kind: 'skipped', reason: 'solo' }],
    ['/dashboard/snapshot/Qx7kP2mNs', { kind: 'skipped', reason: 'snapshot' }],
    ['/public-dashboards/8f1e0c2d9b7a4e6f', { kind: 'skipped', reason: 'public' }],
    ['/dashboard/public/8f1e0c2d9b7a4e6f', { kind: 'skipped', reason: 'public' }],
    ['/dashboard/new', { kind: 'skipped', reason: 'new' }],
    ['/dashboard/import', { kind: 'skipped', reason: 'new' }],
    ['/explore', { kind: 'other' }],
    ['/', { kind: 'home' }],
    ['/d/%E0%A4%A/x', { kind: 'other' }],
    ['/dashboards', { kind: 'other' }],
    ['/dashboards/f/folder-uid/', { kind: 'other' }],
    ['/alerting/list', { kind: 'other' }],
  ])('%s', (path, kind) => {
    expect(classifyPath(path)).toEqual(kind);
  });
});

describe('dashboardIdentity', () => {
  const dashboard = { uid: 'abc123', title: 'Sales overview' };

  test('legacy architecture: the __dashboard system variable', () => {
    const replace = legacyReplaceVariables(dashboard);
    expect(replace('${__dashboard}')).toBe('Sales overview'); // the stand-in behaves as Grafana does
    expect(dashboardIdentity(replace)).toEqual(dashboard);
  });

  test('Scenes: the __dashboard macro', () => {
    const replace = scenesReplaceVariables(dashboard);
    expect(replace('${__dashboard.uid}')).toBe('abc123');
    expect(dashboardIdentity(replace)).toEqual(dashboard);
  });

  test('a title that contains a dollar sign is kept', () => {
    const replace = scenesReplaceVariables({ uid: 'cost', title: 'Cost in $ per team' });
    expect(dashboardIdentity(replace)).toEqual({ uid: 'cost', title: 'Cost in $ per team' });
  });

  test('left uninterpolated, or throwing: empty, so the URL is used', () => {
    expect(dashboardIdentity(uninterpolated)).toEqual({ uid: '', title: '' });
    expect(
      dashboardIdentity(() => {
        throw new Error('interpolation failed');
      })
    ).toEqual({ uid: '', title: '' });
    expect(dashboardIdentity((() => undefined) as unknown as (t: string) => string)).toEqual({ uid: '', title: '' });
  });
});

describe('resolveEndpoint', () => {
  test("default: /footfall/v1/metrics on Grafana's origin", () => {
    config.appSubUrl = '';
    expect(resolveEndpoint('')).toBe('/footfall/v1/metrics');
  });

  test('default under a sub-path', () => {
    config.appSubUrl = '/grafana';
    expect(resolveEndpoint('')).toBe('/grafana/footfall/v1/metrics');
    config.appSubUrl = '/grafana/';
    expect(resolveEndpoint('')).toBe('/grafana/footfall/v1/metrics');
  });

  test('an explicit endpoint is used as given', () => {
    config.appSubUrl = '/grafana';
    expect(resolveEndpoint('https://collector.example.com/v1/metrics')).toBe(
      'https://collector.example.com/v1/metrics'
    );
  });
});

describe('currentGrafana', () => {
  test('host from appUrl, env, version and edition from buildInfo', () => {
    resetGrafana();
    config.appUrl = 'https://grafana.example.com:3443/grafana/';
    expect(currentGrafana()).toEqual({
      host: 'grafana.example.com:3443',
      env: 'production',
      version: '13.1.0',
      edition: 'Open Source',
    });
  });

  test("without appUrl, the page's host", () => {
    config.appUrl = '';
    expect(currentGrafana().host).toBe(window.location.host);
  });
});
