import type { Tier } from '@llmgov/contracts';

export interface TierInput {
  tierHint: string | null;
  promptTokens: number;
  minQuality: number;
  maxCostUsd: number;
}

/**
 * The tier rule of the walking skeleton, in order: an explicit hint wins; a quality bar of 0.9+ needs L;
 * a bar of 0.7+ or a prompt longer than `mPromptTokens` needs M; a cost budget below 0.001 USD caps at S;
 * everything else is S. Returns the tier and a short machine-readable reason.
 */
export function chooseTier(input: TierInput, mPromptTokens: number): { tier: Tier; reason: string } {
  if (input.tierHint === 'S' || input.tierHint === 'M' || input.tierHint === 'L') return { tier: input.tierHint, reason: 'tier_hint' };
  if (input.maxCostUsd < 0.001) return { tier: 'S', reason: 'cost_cap' };
  if (input.minQuality >= 0.9) return { tier: 'L', reason: 'quality_bar_high' };
  if (input.minQuality >= 0.7) return { tier: 'M', reason: 'quality_bar_medium' };
  if (input.promptTokens > mPromptTokens) return { tier: 'M', reason: 'long_prompt' };
  return { tier: 'S', reason: 'default_small' };
}
