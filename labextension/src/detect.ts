/**
 * Which form a %%odyssey_simulate body is in, by the rules the kernel uses.
 *
 * The rules are not written here: grammar.json (copied from the Python package at
 * build time) holds them for both sides, so the editor shows a timeline exactly
 * where the kernel will parse one, and Python everywhere it will evaluate Python.
 */
import { parser as pythonParser } from '@lezer/python';

import grammarFile from './grammar.json';
import { Grammar, LineTokeniser } from './tokens';

export type Form = 'timeline' | 'python' | 'json';

interface Rule {
  when: string;
  form: string;
  values?: string[];
  pattern?: string;
}

export const GRAMMAR = grammarFile as Grammar & {
  rules: Rule[];
  cases: { body: string; form: Form }[];
};

/** The tokeniser of timeline lines, with the compiled patterns of the grammar. */
export const tokeniser = new LineTokeniser(GRAMMAR);

/** A named pattern of the shared grammar. */
export function pattern(name: string): RegExp {
  return tokeniser.pattern(name);
}

function parsesAsPython(text: string): boolean {
  let ok = true;
  pythonParser.parse(text.trim()).iterate({
    enter: node => {
      if (node.type.isError) {
        ok = false;
      }
      return ok;
    }
  });
  return ok;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function holds(rule: Rule, text: string, first: string): boolean {
  const word = first.split(/\s+/, 1)[0] ?? '';
  switch (rule.when) {
    case 'line_starts_with':
      return (rule.values ?? []).some(prefix => first.startsWith(prefix));
    case 'line_matches':
      return pattern(rule.pattern ?? '').test(first);
    case 'word_matches':
      return pattern(rule.pattern ?? '').test(word);
    case 'word_is_action':
      return GRAMMAR.actions.includes(word.toLowerCase());
    case 'parses_as_python':
      return parsesAsPython(text);
    case 'always':
      return true;
    default:
      throw new Error(`grammar.json: unknown rule ${rule.when}`);
  }
}

/** 'timeline', 'python' or 'json' for a cell body (an empty body: timeline). */
export function detectForm(text: string): Form {
  const first = text
    .split(/\r?\n/)
    .map(line => line.trim())
    .find(line => line && !line.startsWith(GRAMMAR.comment_prefix));
  if (first === undefined) {
    return 'timeline';
  }
  for (const rule of GRAMMAR.rules) {
    if (holds(rule, text, first)) {
      if (rule.form === 'json_if_valid_else_python') {
        return isJson(text) ? 'json' : 'python';
      }
      return rule.form as Form;
    }
  }
  return 'timeline';
}

/** Whether a whole cell is a %%odyssey_simulate cell whose body is a timeline. */
export function isTimelineCell(cell: string): boolean {
  const newline = cell.indexOf('\n');
  const magic = newline < 0 ? cell : cell.slice(0, newline);
  if (!pattern('cell_magic').test(magic)) {
    return false;
  }
  return detectForm(newline < 0 ? '' : cell.slice(newline + 1)) === 'timeline';
}
