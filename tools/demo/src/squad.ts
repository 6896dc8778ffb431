import { readSquadFile } from '@llmgov/judging';

export interface SquadDocument {
  tenantId: string;
  documentId: string;
  title: string;
  text: string;
}

export interface SquadQuestion {
  id: string;
  tenantId: string;
  question: string;
  goldDocumentId: string;
  answers: string[];
}

/**
 * Reads a SQuAD v1.1-format file. Articles are split between tenants round-robin (article i goes to
 * tenants[i % n]); each paragraph is one document `a<article>-p<paragraph>`; each question belongs to the
 * tenant of its article, with its paragraph as gold document. Questions are interleaved across articles
 * (first question of every article, then the second, ...) so that any prefix covers both tenants.
 * @throws Error naming the file when it is not valid JSON or not in the SQuAD layout.
 */
export async function loadSquad(file: string, tenants: string[]): Promise<{ documents: SquadDocument[]; questions: SquadQuestion[] }> {
  const squad = await readSquadFile(file);
  const documents: SquadDocument[] = [];
  const perArticle: SquadQuestion[][] = [];
  squad.data.forEach((article, a) => {
    const tenantId = tenants[a % tenants.length]!;
    const qs: SquadQuestion[] = [];
    article.paragraphs.forEach((p, i) => {
      const documentId = `a${a}-p${i}`;
      documents.push({ tenantId, documentId, title: article.title, text: p.context });
      for (const qa of p.qas) qs.push({ id: qa.id, tenantId, question: qa.question, goldDocumentId: documentId, answers: qa.answers.map((x) => x.text) });
    });
    perArticle.push(qs);
  });
  const questions: SquadQuestion[] = [];
  for (let i = 0; perArticle.some((qs) => i < qs.length); i++) for (const qs of perArticle) if (i < qs.length) questions.push(qs[i]!);
  return { documents, questions };
}
