import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/schedule/index.ts', 'src/templates/index.ts', 'src/definition/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
