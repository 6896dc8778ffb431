import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/**
 * The SQuAD v1.1 JSON layout (https://rajpurkar.github.io/SQuAD-explorer/): articles with a title and paragraphs, each
 * paragraph a context and its questions with their human answers. Unknown fields are ignored; a question without
 * answers gets none.
 */
export const squadFileSchema = z.object({
  data: z.array(
    z.object({
      title: z.string(),
      paragraphs: z.array(
        z.object({
          context: z.string(),
          qas: z.array(z.object({ id: z.string(), question: z.string(), answers: z.array(z.object({ text: z.string() })).default([]) })),
        }),
      ),
    }),
  ),
});

export type SquadFile = z.output<typeof squadFileSchema>;

/**
 * Reads and validates a SQuAD v1.1-format file: the one reader of the demo, the benchmarks and the CLI.
 * @throws Error naming the file when it cannot be read, is not JSON, or is not in the SQuAD layout (with the first problem's path).
 */
export async function readSquadFile(file: string): Promise<SquadFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file} as JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = squadFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`${file} is not in the SQuAD v1.1 layout: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
