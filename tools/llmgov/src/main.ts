#!/usr/bin/env node
import { Command } from 'commander';
import { runCli } from './cli.js';
import { registerBudgetsCommands } from './commands/budgets.js';
import { registerCacheCommands } from './commands/cache.js';
import { registerFeedbackCommands } from './commands/feedback.js';
import { registerPolicyCommands } from './commands/policy.js';

const program = new Command('llmgov')
  .description(
    'Operate the LLM governance platform: policies, budgets and the semantic cache. Reads DATABASE_URL; `npm run llmgov -- ...` sets it for the local stack.',
  )
  .showHelpAfterError('(add --help for usage)');

// One line per command group (src/commands/<group>.ts).
registerPolicyCommands(program);
registerBudgetsCommands(program);
registerCacheCommands(program);
registerFeedbackCommands(program);

await runCli(program);
