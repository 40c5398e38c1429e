import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.ts';

describe('footfall.example.yaml', () => {
  it('is valid and states exactly the embedded defaults', () => {
    const path = fileURLToPath(new URL('../../footfall.example.yaml', import.meta.url));
    expect(loadConfig({ file: path, env: {} })).toEqual(loadConfig({ env: {} }));
  });
});
