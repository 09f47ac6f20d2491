// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Formatting is Prettier's job (.prettierrc, printWidth 140); these rules look for mistakes.
// typescript-eslint's `recommended` set, not the type-checked one, so a lint run needs no compile.
export default defineConfig(
  { ignores: ['dist/', 'coverage/', 'data/', 'logs/', 'test-artifacts/', 'node_modules/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Parameters are fixed by the interface implemented (canActivate, up/down of a migration), not chosen.
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: {
      // The benches, scripts and Jest configs are plain CommonJS that Node runs as they are.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    languageOptions: { globals: { ...globals.jest } },
    rules: {
      // Tests read arbitrary JSON answers and reach into internals, where `any` is the honest type.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
