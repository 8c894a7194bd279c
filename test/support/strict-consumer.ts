/**
 * The compiler options of a strict user project, as the package tests compile code against the
 * built package with them: `--strict`, and the package's own declarations checked too.
 */
export const STRICT_CONSUMER_OPTIONS = {
  target: 'ES2022',
  lib: ['ES2023', 'ESNext.Disposable'],
  module: 'nodenext',
  moduleResolution: 'nodenext',
  strict: true,
  skipLibCheck: false,
  types: ['node'],
} as const;
