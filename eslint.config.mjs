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
      // Destructuring a field away (`const { id: _id, ...rest } = row`) is how an object is copied without it.
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Prettier wraps code at 140 but not comments. Strings stay whole so that a message can be found with grep.
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
      // Fire times come from src/common/cron: the cron package's own next-date computation double-fires around DST.
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'cron', message: 'use src/common/cron (DST-correct); the cron package is not a dependency' }] },
      ],
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
