/**
 * create-plugin's webpack config, extended the way its docs describe (a config of the plugin's own,
 * merged over `.config/`); the extension is the same for both footfall plugins.
 */
import { footfallPluginConfig } from '@footfall/browser/scripts/plugin-webpack-config.ts';
import grafanaConfig from './.config/webpack/webpack.config.ts';

export default footfallPluginConfig(grafanaConfig);
