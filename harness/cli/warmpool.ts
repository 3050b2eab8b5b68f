#!/usr/bin/env node
// The `warmpool` executable. Kept apart from main.ts so importing the CLI in tests never runs it.
import { main } from './main.js';
import { protectOutput } from './safe-output.js';

// Before anything writes: a closed stdout or stderr pipe must not end a service or a run half-way.
protectOutput();
process.exitCode = await main(process.argv.slice(2));
