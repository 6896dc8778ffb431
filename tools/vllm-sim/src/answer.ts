/**
 * The simulator's stand-in for a model: a deterministic extractive answer. It is NOT a language model. It picks the
 * sentence of the context that shares the most content words with the question, which is enough for pipelines and
 * judges to see plausible, context-grounded text with realistic token counts.
 */

/** Answer when the prompt carries no context at all. */
export const NO_CONTEXT_ANSWER = 'This is a simulated answer from vllm-sim; no context was provided.';
/** Answer when the context shares no content word with the question. */
export const NOT_FOUND_ANSWER = 'I could not find the answer in the provided context.';

export interface QuestionAndContext {
  question: string;
  context: string;
}

export interface ChatMessageText {
  role: string;
  content: string;
}

const QUESTION_MARKER = /(?:^|\n)[ \t]*(?:#+[ \t]*)?question[ \t]*:/giu;

/**
 * Splits text at its final `Question:` marker (case-insensitive, at the start of a line). The question is the rest of
 * that line, or the next non-empty line when the marker stands alone; the context is everything before the marker.
 */
export function splitAtQuestionMarker(text: string): QuestionAndContext | undefined {
  let lastEnd = -1;
  let lastStart = -1;
  for (const m of text.matchAll(QUESTION_MARKER)) {
    lastStart = m.index;
    lastEnd = m.index + m[0].length;
  }
  if (lastEnd < 0) return undefined;
  const after = text.slice(lastEnd).split('\n');
  const question = after.map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  return { question, context: text.slice(0, lastStart) };
}

/** Chat: the question is the last user message (or the line after its final `Question:` marker); the rest is context. */
export function questionFromChat(messages: readonly ChatMessageText[]): QuestionAndContext {
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'user') {
      lastUser = i;
      break;
    }
  }
  if (lastUser < 0) return { question: '', context: messages.map((m) => m.content).join('\n') };
  const others = messages.filter((_, i) => i !== lastUser).map((m) => m.content);
  const userText = messages[lastUser]!.content;
  const split = splitAtQuestionMarker(userText);
  if (split) return { question: split.question, context: [...others, split.context].join('\n') };
  return { question: userText, context: others.join('\n') };
}

/** Completions: the line after the final `Question:` marker, else the last non-empty line; the text before is context. */
export function questionFromPrompt(prompt: string): QuestionAndContext {
  const split = splitAtQuestionMarker(prompt);
  if (split) return split;
  const lines = prompt.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.trim().length > 0) return { question: lines[i]!.trim(), context: lines.slice(0, i).join('\n') };
  }
  return { question: '', context: '' };
}

const STOPWORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our she he her his they them their that the this those these there then than to too us was ' +
    'we were what when where which who whom whose why will with would you your yours about after before answer ' +
    'question context use using only please based given following provided according text passage'
  ).split(' '),
);

function contentWords(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    const w = m[0];
    if (STOPWORDS.has(w)) continue;
    if (w.length < 2 && !/\p{N}/u.test(w)) continue;
    out.add(w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);
  }
  return out;
}

/** Leading prompt labels such as `Context:`, `[2]` or `Passage 3:` are not part of a sentence. */
const LABEL = /^(?:\[\d+\]\s*|\d+[.)]\s+)?(?:(?:context|passage|document|source|doc)\s*(?:\[?\d+\]?)?\s*:\s*)?(?:\[\d+\]\s*)?/iu;

/** Sentences of the context: split at line breaks and at `.`/`!`/`?` followed by space and an upper-case letter, digit or quote. */
export function splitSentences(context: string): string[] {
  const out: string[] = [];
  for (const line of context.split(/\r?\n/)) {
    for (const s of line.split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}"'“([])/u)) {
      const t = s.replace(/\s+/gu, ' ').trim().replace(LABEL, '');
      if (/[\p{L}\p{N}]/u.test(t)) out.push(t);
    }
  }
  return out;
}

/** The deterministic stand-in answer for a question and its context. */
export function extractiveAnswer({ question, context }: QuestionAndContext): string {
  const sentences = splitSentences(context);
  if (sentences.length === 0) return NO_CONTEXT_ANSWER;
  const q = contentWords(question);
  let best: string | undefined;
  let bestScore = 0;
  for (const s of sentences) {
    const words = contentWords(s);
    let score = 0;
    for (const w of q) if (words.has(w)) score++;
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best ?? NOT_FOUND_ANSWER;
}
