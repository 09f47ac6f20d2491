#!/usr/bin/env bash
# The whole suite: type check and build, unit specs, then the e2e tests on SQLite and on PostgreSQL.
# PostgreSQL is reached at TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); the
# tests create and drop their own databases there.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build
npx jest --config jest.config.js
TEST_DB=sqlite npx jest --config test/jest-e2e.config.js --maxWorkers=2
TEST_DB=postgres npx jest --config test/jest-e2e.config.js --maxWorkers=2
