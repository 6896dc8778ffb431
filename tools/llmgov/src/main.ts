#!/usr/bin/env node
import { Command } from 'commander';
import { registerBudgetsCommands } from './commands/budgets.js';

/** `llmgov`: one command group per file under `commands/`, each registered by one line here. */
const program = new Command('llmgov').description('Govern the platform: budgets, and the policies that bind requests to them.').showHelpAfterError();
registerBudgetsCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`llmgov: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
