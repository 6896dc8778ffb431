import { z } from 'zod';
import { boolFromEnv, intFromEnv, loadPlatformConfig } from '@llmgov/config';

/**
 * feedback-labeler settings, besides the shared platform settings (`KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL`,
 * `DATABASE_URL`, `HTTP_PORT`, ...; see `libs/config`):
 * - `CANARY_CONTROLLER_ENABLED` (default true): run the canary controller (issue 11 §4, ADR 0009), which rolls a policy
 *   canary back when it breaches its route's SLO or its tolerances;
 * - `POLICY_NAMESPACE` (default `default`): the policy namespace whose canaries it watches (the routers' namespace);
 * - `CANARY_EVAL_INTERVAL_MS` (default 5000): how often it evaluates the window, ms (a breach is acted on within one
 *   interval of being observable, well under the one minute the issue asks).
 */
export const labelerEnv = {
  CANARY_CONTROLLER_ENABLED: boolFromEnv.default(true),
  POLICY_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .default('default'),
  CANARY_EVAL_INTERVAL_MS: intFromEnv(100, 60_000).default(5000),
};

export const LABELER_CONFIG = Symbol('LABELER_CONFIG');
export const loadLabelerConfig = () => loadPlatformConfig(labelerEnv);
export type LabelerConfig = ReturnType<typeof loadLabelerConfig>;
