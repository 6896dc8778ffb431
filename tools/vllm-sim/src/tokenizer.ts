export type TokenizerName = 'cl100k_base' | 'o200k_base';
export const TOKENIZER_NAMES: readonly TokenizerName[] = ['cl100k_base', 'o200k_base'];

/** Real BPE token counting (gpt-tokenizer), hardened against inputs that make BPE quadratic. */
export interface Tokenizer {
  readonly name: TokenizerName;
  /** Number of token ids (valid prompt token ids are 0 .. vocabSize-1). */
  readonly vocabSize: number;
  encode(text: string): number[];
  count(text: string): number;
  /** Text of each token, such that the pieces concatenate to the decoded text (multi-byte characters split across tokens land on the last token). */
  pieces(tokens: readonly number[]): string[];
  /** Decodes the ids the vocabulary knows, skipping the others. */
  decodeLenient(tokens: readonly number[]): string;
}

interface EncodingModule {
  encode(text: string, options?: { disallowedSpecial?: Set<string> }): number[];
  decode(tokens: Iterable<number>): string;
  vocabularySize: number;
}

/**
 * BPE cost grows quadratically with the length of one pre-token (a run of letters, symbols or whitespace): 100k
 * repeated characters take many seconds. Runs longer than this are encoded in slices of this many code points, which
 * changes the count only for such pathological runs.
 */
const MAX_RUN = 256;
const LONG_RUN = /\S{257,}|\s{257,}/gu;

const cache = new Map<TokenizerName, Promise<Tokenizer>>();

/** Loads a tokenizer once per process (the BPE tables take a moment and some memory). */
export function loadTokenizer(name: TokenizerName): Promise<Tokenizer> {
  let p = cache.get(name);
  if (p === undefined) {
    p = importEncoding(name).then((mod) => makeTokenizer(name, mod));
    cache.set(name, p);
  }
  return p;
}

async function importEncoding(name: TokenizerName): Promise<EncodingModule> {
  switch (name) {
    case 'cl100k_base':
      return (await import('gpt-tokenizer/encoding/cl100k_base')) as EncodingModule;
    case 'o200k_base':
      return (await import('gpt-tokenizer/encoding/o200k_base')) as EncodingModule;
  }
}

function makeTokenizer(name: TokenizerName, mod: EncodingModule): Tokenizer {
  // Special-token strings such as "<|endoftext|>" in user text are encoded as plain text, never as control tokens.
  const noSpecial = { disallowedSpecial: new Set<string>() };
  const plain = (text: string): number[] => (text.length === 0 ? [] : mod.encode(text, noSpecial));

  const encode = (text: string): number[] => {
    LONG_RUN.lastIndex = 0;
    if (!LONG_RUN.test(text)) return plain(text);
    const out: number[] = [];
    let last = 0;
    LONG_RUN.lastIndex = 0;
    for (const m of text.matchAll(LONG_RUN)) {
      pushAll(out, plain(text.slice(last, m.index)));
      const cps = Array.from(m[0]);
      for (let i = 0; i < cps.length; i += MAX_RUN) pushAll(out, plain(cps.slice(i, i + MAX_RUN).join('')));
      last = m.index + m[0].length;
    }
    pushAll(out, plain(text.slice(last)));
    return out;
  };

  const tryDecode = (tokens: readonly number[]): string | undefined => {
    try {
      return mod.decode(tokens);
    } catch {
      return undefined;
    }
  };

  return {
    name,
    vocabSize: mod.vocabularySize,
    encode,
    count: (text) => encode(text).length,
    pieces(tokens) {
      const out: string[] = [];
      let start = 0;
      for (let i = 0; i < tokens.length; i++) {
        const s = tryDecode(tokens.slice(start, i + 1)) ?? '';
        // A trailing U+FFFD means an incomplete UTF-8 sequence: hold it back (up to 4 tokens) until it completes.
        if (s.endsWith('\uFFFD') && i - start < 3 && i < tokens.length - 1) {
          out.push('');
          continue;
        }
        out.push(s);
        start = i + 1;
      }
      return out;
    },
    decodeLenient(tokens) {
      const whole = tryDecode(tokens);
      if (whole !== undefined) return whole;
      return tokens.map((t) => tryDecode([t]) ?? '').join('');
    },
  };
}

function pushAll(target: number[], items: readonly number[]): void {
  for (const x of items) target.push(x);
}
