/**
 * The HTML the harness serves for every Grafana page URL, laid out like Grafana's index.html: the
 * sub-path as the document's base URL, boot data inline, then the loader and the app. Script order
 * matters (see test/browser/host/host.ts).
 */
import { APP_SUB_URL, type BootData } from './boot-data.ts';

/** Where the page's own scripts are served from, under Grafana's public build folder. */
export const BUILD_PATH = `${APP_SUB_URL}/public/build`;

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function hostPageHtml(bootData: BootData): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<base href="${APP_SUB_URL}/">
<title>Grafana</title>
<link rel="icon" href="data:,">
<script>
  // Kept before anything else runs, so an error while the host loads is recorded too.
  window.footfallPageErrors = [];
  addEventListener('error', (e) => footfallPageErrors.push(String(e.error?.stack ?? e.message)));
  addEventListener('unhandledrejection', (e) => footfallPageErrors.push(String(e.reason?.stack ?? e.reason)));
</script>
<script>
  // A test may set window.footfallBootDataPatch in an init script to change this page's boot data.
  window.grafanaBootData = ((boot, patch = window.footfallBootDataPatch ?? {}) => ({
    ...boot,
    settings: { ...boot.settings, ...patch.settings },
    user: { ...boot.user, ...patch.user },
  }))(${scriptJson(bootData)});
</script>
</head>
<body class="theme-dark app-grafana">
<div id="reactRoot"></div>
<script src="${BUILD_PATH}/system.js"></script>
<script src="${BUILD_PATH}/host.js"></script>
<script src="${BUILD_PATH}/amd.js"></script>
</body>
</html>
`;
}
