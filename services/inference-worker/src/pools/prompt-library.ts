import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PromptTemplateError, loadPromptTemplate, templateId, type PromptTemplate } from './prompt-template.js';

/** Most template files read from a prompts folder (count): a folder of released versions holds tens. */
export const MAX_PROMPT_LIBRARY_FILES = 1000;

/** The file a template must be stored in: `NAME.vVERSION.json`, the name `llmgov policy apply` looks for (libs/policy templateFileName). */
export const libraryFileName = (t: Pick<PromptTemplate, 'name' | 'version'>): string => `${t.name}.v${t.version}.json`;

/**
 * Reads and validates every template file of a prompts folder (infra/prompts/README.md): each `*.json` entry directly
 * in `dir` that is a file (symbolic links followed, as in a mounted ConfigMap; sub-folders such as `judge/` and hidden
 * files are not read), with the same checks as a pool's template ({@link loadPromptTemplate}: size, JSON, fields,
 * Mustache syntax, known variables), and its file name must be `NAME.vVERSION.json` of its own `name` and `version`,
 * so that the `name@version` a policy names is the file `llmgov policy apply` stored.
 * @returns the templates keyed by `name@version` (a null-prototype object: no key is inherited).
 * @throws PromptTemplateError naming the folder when it cannot be read or holds more than {@link MAX_PROMPT_LIBRARY_FILES}
 *   template files, else naming every invalid file and field.
 */
export function loadPromptLibrary(dir: string): Record<string, PromptTemplate> {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .sort();
  } catch (err) {
    throw new PromptTemplateError(`cannot read the prompts folder ${dir}: ${(err as Error).message}`);
  }
  if (names.length > MAX_PROMPT_LIBRARY_FILES)
    throw new PromptTemplateError(`the prompts folder ${dir} holds ${names.length} template files, more than the ${MAX_PROMPT_LIBRARY_FILES} allowed`);
  const library = Object.create(null) as Record<string, PromptTemplate>;
  const problems: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      let isFile: boolean;
      try {
        isFile = statSync(file).isFile();
      } catch (err) {
        throw new PromptTemplateError(`cannot read prompt template ${file}: ${(err as Error).message}`);
      }
      if (!isFile) continue;
      const template = loadPromptTemplate(file);
      if (name !== libraryFileName(template))
        throw new PromptTemplateError(`prompt template ${file} is ${templateId(template)}, so its file must be named ${libraryFileName(template)}`);
      // File names are unique in a folder and equal to NAME.vVERSION.json, so no two files claim one name@version.
      library[templateId(template)] = template;
    } catch (err) {
      if (!(err instanceof PromptTemplateError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length > 0) throw new PromptTemplateError(problems.join('; '));
  return library;
}

/** A template's content without where it was read from: two files with equal content are the same template. */
export const templateContent = (t: PromptTemplate): string => {
  const { file: _file, ...content } = t;
  return JSON.stringify(content);
};
