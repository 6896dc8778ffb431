#!/usr/bin/env node
import { Command } from 'commander';
import { runCli } from './cli.js';
import { registerPolicyCommands } from './commands/policy.js';

const program = new Command('llmgov')
  .description(
    'Operate the LLM governance platform: policies (and, as they land, budgets). Reads DATABASE_URL; `npm run llmgov -- ...` sets it for the local stack.',
  )
  .showHelpAfterError('(add --help for usage)');

// One line per command group (src/commands/<group>.ts).
registerPolicyCommands(program);

await runCli(program);
