#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadPlatformConfig } from '@llmgov/config';
import { bootstrapPlatform } from './bootstrap.js';
import { startPlatform, type RunningPlatform } from './platform.js';
import { ENGINE_KINDS, type EngineKind } from './engines.js';

/** API keys of the local tenants when API_KEYS is not set (local use only: never deploy them). */
export const LOCAL_API_KEYS = 'tenant-a=dev-key-tenant-a,tenant-b=dev-key-tenant-b';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535 - 8) throw new InvalidArgumentError('expected a TCP port');
  return n;
};

const program = new Command('platform').description('Operate the local platform: prepare the stack, run the services.');

program
  .command('bootstrap')
  .description('create topics and DLQs, register schemas (BACKWARD), apply Postgres migrations; idempotent')
  .action(async () => {
    const report = await bootstrapPlatform(loadPlatformConfig());
    console.log(
      `topics created: ${report.topicsCreated.length}, schemas registered: ${report.schemasRegistered}, migrations applied: ${report.migrationsApplied.join(',') || 'none'}`,
    );
  });

program
  .command('up')
  .description(
    'start the local engines and all eight services in the foreground under a supervisor (a process that dies is restarted); ' +
      'prints the URLs and the local API keys; Ctrl-C (SIGINT) or SIGTERM drains the services, then stops the engines',
  )
  .option('--base-port <port>', 'first service HTTP port (the API, ingest-validator, listens on it)', port, 18100)
  .addOption(
    new Option('--engine <kind>', 'llama: real models (llama.cpp engines, MiniLM embeddings server); sim: vllm-sim and the hashing embedder')
      .choices([...ENGINE_KINDS])
      .default('llama'),
  )
  .action(async (opts: { basePort: number; engine: EngineKind }) => {
    const config = loadPlatformConfig();
    const apiKeys = process.env.API_KEYS ?? LOCAL_API_KEYS;
    const t0 = Date.now();
    const boot = await bootstrapPlatform(config);
    console.log(`bootstrap: ${boot.topicsCreated.length} topics created, migrations ${boot.migrationsApplied.join(',') || 'up to date'}`);
    let stopping: Promise<void> | undefined;
    // Set once start-up is done; a signal before that cannot drain anything.
    const running: { platform?: RunningPlatform } = {};
    const shutdown = (signal: string) => {
      const platform = running.platform;
      if (stopping || !platform) {
        // A second signal, or one during start-up: exit now; the supervisor's exit hook SIGKILLs the children.
        console.log(`${signal}: stopping without draining`);
        process.exit(130);
      }
      console.log(`\n${signal}: draining the services, then stopping the engines...`);
      stopping = platform.stop().then(() => {
        console.log(`stopped (restarts during the run: ${JSON.stringify(platform.restarts())})`);
        process.exit(0);
      });
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    const platform = await startPlatform({
      config,
      basePort: opts.basePort,
      engine: opts.engine,
      policy: true,
      env: { API_KEYS: apiKeys },
      ownProcessGroup: true,
      onStarted: (p) => console.log(`ready     ${p.name.padEnd(18)} ${p.url}  log ${p.logFile}`),
      onSupervisorEvent: (e) => {
        if (stopping) return;
        const line = `supervisor ${e.name.padEnd(17)} ${e.kind}: ${e.message}`;
        if (e.kind === 'crash-loop' || e.kind === 'exited') console.error(line);
        else console.log(line);
      },
    });
    running.platform = platform;
    const api = platform.services.get('ingest-validator')?.url;
    console.log(`\nall ${platform.services.size} services and ${platform.engines.length} engines ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const e of platform.engineSet.engines)
      console.log(
        `engine    ${e.name.padEnd(18)} ${e.info.backend}: ${e.info.model}${e.info.model_file ? ` (${e.info.model_file}, ${e.info.quantization})` : ''}`,
      );
    console.log(`API       ${api}/v1/jobs, ${api}/v1/documents, ${api}/v1/feedback`);
    console.log(
      `stack     Kafka ${config.KAFKA_BROKERS.join(',')}, registry ${config.SCHEMA_REGISTRY_URL}, Postgres ${config.DATABASE_URL.replace(/:[^:@/]+@/, ':***@')}, Redis ${config.REDIS_URL}`,
    );
    console.log('API keys  (Authorization: Bearer <key>)');
    for (const pair of apiKeys.split(',').filter(Boolean)) {
      const [tenant, key] = pair.trim().split('=');
      console.log(`          ${(tenant ?? '').padEnd(12)} ${key ?? ''}`);
    }
    console.log(
      `example   curl -s -H 'authorization: Bearer ${apiKeys.split(',')[0]?.split('=')[1] ?? ''}' -H 'content-type: application/json' -d '{"prompt":"What is Kafka?"}' ${api}/v1/jobs`,
    );
    console.log('Ctrl-C stops everything.');
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`platform: ${(err as Error).message}`);
  process.exit(1);
});
