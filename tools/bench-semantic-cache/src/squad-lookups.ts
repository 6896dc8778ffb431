import { readSquadFile } from '@llmgov/judging';
import { loadEmbeddingModel, type EmbeddingModel } from '@llmgov/embeddings-server';
import { indexVersion } from '@llmgov/vector-store';
import { buildLookupSet, labelLookups, splitOf, type LabelledLookup, type LabelledQuestion, type LabelledQuery } from '@llmgov/policy';

/**
 * The questions of a SQuAD v1.1-format file with their gold answers; `group` is the paragraph, named `a<article>-p<paragraph>`
 * as the demo names its documents.
 * @throws Error naming the file when it is not JSON or not in the SQuAD layout.
 */
export async function loadSquadQuestions(file: string): Promise<LabelledQuestion[]> {
  const squad = await readSquadFile(file);
  const out: LabelledQuestion[] = [];
  squad.data.forEach((article, a) =>
    article.paragraphs.forEach((p, i) => {
      for (const qa of p.qas) out.push({ id: qa.id, text: qa.question, answers: qa.answers.map((x) => x.text), group: `a${a}-p${i}` });
    }),
  );
  return out;
}

/** all-MiniLM-L6-v2 loaded in this process, and the embedding space id the router uses for it (`indexVersion`). */
export interface LocalEmbeddings {
  model: EmbeddingModel;
  /** `indexVersion({model, modelVersion: model, dimensions})`: what the router compares a calibrated threshold's space with. */
  space: string;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/**
 * Loads the model from `modelDir` (infra/local/models.sh) as tools/embeddings-server does, so the vectors are the
 * router's (the server reports the same model name, and OpenAI-compatible servers report no version).
 * @throws ModelFilesMissingError when the files are not there.
 */
export async function loadLocalEmbeddings(modelDir: string, threads?: number, batch = 64): Promise<LocalEmbeddings> {
  const model = await loadEmbeddingModel({ modelDir, ...(threads === undefined ? {} : { threads }) });
  return {
    model,
    space: indexVersion({ model: model.name, modelVersion: model.name, dimensions: model.dimensions }),
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batch) out.push(...(await model.embed(texts.slice(i, i + batch))).vectors);
      return out;
    },
  };
}

/** Which questions a labelled set is made of: one half of the paragraphs (ADR 0008) or all. */
export type SquadHalf = 'calibrate' | 'evaluate' | 'all';

export interface SquadLookups {
  half: SquadHalf;
  questions: number;
  cached: LabelledQuestion[];
  queries: LabelledQuery[];
  lookups: LabelledLookup[];
  /** The vectors, in the order of `cached` and `queries` (for callers that also time lookups). */
  cachedVectors: Float32Array[];
  queryVectors: Float32Array[];
}

/**
 * Labelled lookups of one half of a SQuAD file (`buildLookupSet`, `labelLookups` in libs/policy): the cache is every
 * other question of each paragraph, the queries are the others (near-misses) and a rewording of each cached one.
 * @throws Error when the half has no question.
 */
export async function squadLookups(questions: readonly LabelledQuestion[], half: SquadHalf, embeddings: LocalEmbeddings): Promise<SquadLookups> {
  const chosen = half === 'all' ? [...questions] : questions.filter((q) => splitOf(q.group) === half);
  if (chosen.length === 0) throw new Error(`no question in the ${half} half`);
  const { cached, queries } = buildLookupSet(chosen);
  const cachedVectors = await embeddings.embed(cached.map((q) => q.text));
  const queryVectors = await embeddings.embed(queries.map((q) => q.text));
  return { half, questions: chosen.length, cached, queries, lookups: labelLookups(cached, cachedVectors, queries, queryVectors), cachedVectors, queryVectors };
}
