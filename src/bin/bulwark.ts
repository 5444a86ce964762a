#!/usr/bin/env node
/**
 * The `bulwark` executable (the package's `bin`): runs the command line and sets the exit status.
 * Everything else lives in `src/probe/cli.ts`, where tests call it in-process.
 */
import { main } from '../probe/cli.ts';

process.exitCode = await main(process.argv.slice(2));
