#!/usr/bin/env node
// The `warmpool` executable. Kept apart from main.ts so importing the CLI in tests never runs it.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
