#!/usr/bin/env node
// The `tfjs-gala` command. A committed shim rather than dist/main.js itself, so that npm links
// the command at install time, before the first build has written dist/.
import '../dist/main.js';
