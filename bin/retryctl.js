#!/usr/bin/env node
// Launcher of the `retryctl` operator CLI: runs cli/main.ts through tsx (a runtime dependency), no build step.
'use strict';
require('tsx/cjs');
require('../cli/main.ts');
