import type { ContextChunk } from '@llmgov/contracts';

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/**
 * Builds the chat messages: the system prompt, then one user message with numbered context chunks
 * followed by `Question: <prompt>` on its own line (the layout the local test engine answers from).
 */
export function buildMessages(systemPrompt: string, prompt: string, context: ContextChunk[]): ChatMessage[] {
  const contextBlock = context.length > 0 ? `Context:\n${context.map((c, i) => `[${i + 1}] ${c.text}`).join('\n\n')}\n\n` : '';
  return [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: `${contextBlock}Question: ${prompt}` },
  ];
}
