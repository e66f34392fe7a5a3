/**
 * One timeline line split into its tokens by the patterns of grammar.json, the way
 * the kernel splits it (odyssey_jupyter/script/line_tokens.py): a test runs one corpus
 * through both and compares the kind and span of every token.
 *
 * It imports nothing (the grammar is handed in), so that test runs it under Node as
 * it is built.
 */

export type TokenKind =
  | 'time'
  | 'action'
  | 'substitution'
  | 'escape'
  | 'imageKey'
  | 'imageValue'
  | 'comment'
  | 'separator'
  | 'invalid';

/** A highlighted part of a line; start and end count UTF-16 units, as editors do. */
export interface LineToken {
  kind: TokenKind;
  start: number;
  end: number;
}

/** The parts of grammar.json the tokeniser and the body-form rules read. */
export interface Grammar {
  comment_prefix: string;
  actions: string[];
  fragments: Record<string, string>;
  timeline: Record<string, string>;
  patterns: Record<string, string>;
}

type Span = [number, number];

/** A pattern's source with every %NAME% replaced by the fragment NAME. */
export function expand(source: string, fragments: Record<string, string>): string {
  return Object.entries(fragments).reduce(
    (text, [name, fragment]) => text.split(`%${name}%`).join(fragment),
    source
  );
}

export class LineTokeniser {
  private readonly compiled = new Map<string, RegExp>();

  constructor(readonly grammar: Grammar) {}

  /** A named pattern of the grammar; 'g' patterns are fresh, the others shared. */
  pattern(name: string, flags = ''): RegExp {
    const key = `${name}/${flags}`;
    let found = flags.includes('g') ? undefined : this.compiled.get(key);
    if (!found) {
      const source = this.grammar.timeline[name] ?? this.grammar.patterns[name];
      found = new RegExp(expand(source, this.grammar.fragments), flags);
      this.compiled.set(key, found);
    }
    return found;
  }

  /** Every token of one body line, in order; plain prompt text and spaces are none. */
  tokens(text: string): LineToken[] {
    const found = this.pattern('comment').exec(text);
    const comment = found ? found.index : null;
    const code = text.slice(0, comment ?? text.length);
    const words: Span[] = [...code.matchAll(this.pattern('word', 'g'))].map(m => [
      m.index ?? 0,
      (m.index ?? 0) + m[0].length
    ]);
    const out: LineToken[] = [];
    if (words.length > 0) {
      const end = words[words.length - 1][1];
      if (this.pattern('separator').test(text.slice(words[0][0], end))) {
        out.push({ kind: 'separator', start: words[0][0], end });
      } else {
        this.entry(text, words, out);
      }
    }
    if (comment !== null) {
      out.push({ kind: 'comment', start: comment, end: text.length });
    }
    return out;
  }

  /** The text of a span with every \# read as a literal #. */
  private part(text: string, [start, end]: Span): string {
    return text
      .slice(start, end)
      .replace(this.pattern('escape', 'g'), this.grammar.comment_prefix);
  }

  private entry(text: string, words: Span[], out: LineToken[]): void {
    const [time, action] = words;
    const isTime = this.pattern('time').test(this.part(text, time));
    out.push({ kind: isTime ? 'time' : 'invalid', start: time[0], end: time[1] });
    if (!action) {
      return;
    }
    const word = this.part(text, action).toLowerCase();
    const isAction = this.grammar.actions.includes(word);
    out.push({ kind: isAction ? 'action' : 'invalid', start: action[0], end: action[1] });
    if (words.length < 3) {
      return;
    }
    const rest: Span = [words[2][0], words[words.length - 1][1]];
    if (word === 'end') {
      out.push({ kind: 'invalid', start: rest[0], end: rest[1] });
    } else {
      this.prompt(text, rest, words.slice(2), out);
    }
  }

  /** The marks of the prompt, then the image= that ends the line, if one does. */
  private prompt(text: string, rest: Span, words: Span[], out: LineToken[]): void {
    const restText = text.slice(rest[0], rest[1]);
    const tail = this.pattern('image_tail').exec(restText);
    const found = tail ?? this.pattern('empty_image').exec(restText);
    let prompt: Span | null = rest;
    let key: Span | null = null;
    if (found) {
      // the match starts with the key or with the one space before it
      const start = rest[0] + found.index + found[0].indexOf(found[1]);
      key = [start, start + found[1].length];
      const before = words.filter(word => word[1] <= start);
      prompt = before.length ? [before[0][0], before[before.length - 1][1]] : null;
    }
    if (prompt) {
      this.marks(text, prompt, out);
    }
    if (key && tail) {
      const value: Span = [key[1], key[1] + tail[2].length];
      const whole = this.pattern('whole_placeholder').test(tail[2]);
      out.push({ kind: 'imageKey', start: key[0], end: key[1] });
      out.push({ kind: whole ? 'substitution' : 'imageValue', start: value[0], end: value[1] });
    } else if (key) {
      out.push({ kind: 'invalid', start: key[0], end: key[1] });
    }
  }

  /** \#, {{ and }} are escapes, {name} a substitution, a lone brace invalid. */
  private marks(text: string, [start, end]: Span, out: LineToken[]): void {
    const source = `(${this.grammar.timeline.escape})|${this.grammar.timeline.braces}`;
    for (const mark of text.slice(start, end).matchAll(new RegExp(source, 'g'))) {
      let kind: TokenKind = 'invalid';
      if (mark[1] !== undefined) {
        kind = 'escape';
      } else if (mark[2] !== undefined) {
        kind = 'substitution';
      } else if (mark[0].length === 2) {
        kind = 'escape';
      }
      const at = start + (mark.index ?? 0);
      out.push({ kind, start: at, end: at + mark[0].length });
    }
  }
}
