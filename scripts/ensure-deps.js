#!/usr/bin/env node
// Step 0 of `npm start` / `npm test`: install npm dependencies on a fresh clone (plain JS, needs nothing installed).
'use strict';
const { existsSync, statSync } = require('node:fs');
const { execSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const marker = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
// The bench workspace (bench/package.json: bullmq, ioredis …) is linked into node_modules by the same install.
const workspaceLink = path.join(root, 'node_modules', '@temporal-retry-service', 'bench');
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs || !existsSync(workspaceLink);
if (stale) {
  // `npm install --no-save` installs exactly the locked versions and leaves package-lock.json as it is. Not `npm ci`:
  // npm 11 rejects this lock there because it lacks the other platforms' optional native binaries (@swc/core-*,
  // esbuild's), which the registry mirror here does not resolve (see npm/cli#4828).
  console.log('[setup] installing npm dependencies…');
  execSync('npm install --no-save --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
