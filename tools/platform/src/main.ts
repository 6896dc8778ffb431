#!/usr/bin/env node
import { Command } from 'commander';
import { loadPlatformConfig } from '@llmgov/config';
import { bootstrapPlatform } from './bootstrap.js';
import { startPlatform } from './platform.js';

const program = new Command('platform').description('Operate the local platform: prepare the stack, run the services.');

program
  .command('bootstrap')
  .description('create topics and DLQs, register schemas (BACKWARD), apply Postgres migrations; idempotent')
  .action(async () => {
    const report = await bootstrapPlatform(loadPlatformConfig());
    console.log(`topics created: ${report.topicsCreated.length}, schemas registered: ${report.schemasRegistered}, migrations applied: ${report.migrationsApplied.join(',') || 'none'}`);
  });

program
  .command('up')
  .description('start the local engines and all eight services in the foreground; Ctrl-C stops them')
  .option('--base-port <port>', 'first service HTTP port', '18100')
  .action(async (opts: { basePort: string }) => {
    const config = loadPlatformConfig();
    await bootstrapPlatform(config);
    const platform = await startPlatform({ config, basePort: Number(opts.basePort), onStarted: (p) => console.log(`ready  ${p.name.padEnd(18)} ${p.url}  log ${p.logFile}`) });
    const shutdown = async () => {
      console.log('stopping...');
      await platform.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => void shutdown());
    process.once('SIGTERM', () => void shutdown());
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`platform: ${(err as Error).message}`);
  process.exit(1);
});
