#!/usr/bin/env node
import { checkIsolationCli } from '../lib/isolation/cli';

// `npm run check-isolation`: see lib/isolation/cli.ts for the usage and the exit codes.
process.exitCode = checkIsolationCli(process.argv.slice(2));
