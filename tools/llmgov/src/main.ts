#!/usr/bin/env node
import { Command } from 'commander';
import { runCli } from './cli.js';
import { registerBudgetsCommands } from './commands/budgets.js';
import { registerCacheCommands } from './commands/cache.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerGoldenCommands } from './commands/golden.js';
import { registerFeedbackCommands } from './commands/feedback.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerReindexCommands } from './commands/reindex.js';
import { registerShadowCommand } from './commands/shadow.js';

const program = new Command('llmgov')
  .description(
    'Operate the LLM governance platform: policies, budgets, the semantic cache, golden sets and evals, replays, dead letters, re-indexing and shadow runs. Reads DATABASE_URL; `npm run llmgov -- ...` sets it for the local stack.',
  )
  .showHelpAfterError('(add --help for usage)');

// One line per command group (src/commands/<group>.ts).
registerPolicyCommands(program);
registerBudgetsCommands(program);
registerCacheCommands(program);
registerGoldenCommands(program);
registerReindexCommands(program);
registerEvalCommand(program);
registerFeedbackCommands(program);
registerReplayCommand(program);
registerDlqCommands(program);
registerShadowCommand(program);

await runCli(program);
