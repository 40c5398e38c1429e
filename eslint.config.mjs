// The repository's lint: Grafana's ESLint config (the one create-plugin's `.config/eslint.config.mjs` builds
// on, with react-hooks) and typescript-eslint's recommended rules, for every TypeScript file. The two
// plugin packages are linted by their own scaffolded configs (`npm run lint` runs both), so the plugins
// follow create-plugin's setup exactly and the rest of the code the same rules.
import { defineConfig } from 'eslint/config';
import grafanaConfig from '@grafana/eslint-config/flat.js';
import tseslint from 'typescript-eslint';

export default defineConfig([
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '**/.build/',
      '**/.config/',
      'artifacts/',
      'test-results/',
      'packages/app/',
      'packages/panel/',
      'packages/cli/testdata/',
    ],
  },
  ...grafanaConfig,
  tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,mts,mjs,js}'],
    rules: {
      // Types, not PropTypes, say what a component takes.
      'react/prop-types': 'off',
      // Unused bindings are the compiler's job (noUnusedLocals, noUnusedParameters); a leading underscore
      // marks the ones kept on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `import type` beside a value import of the same module is how this code marks type-only names.
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      // JSX compiles with the automatic runtime: no `React` in scope is needed.
      'react/react-in-jsx-scope': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
]);
