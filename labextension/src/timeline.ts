/**
 * The timeline language of %%odyssey_simulate cells for CodeMirror 6.
 *
 * Each token kind has its own tag, derived from a standard @lezer/highlight tag so
 * the theme colours it (times as numbers, actions as keywords, ...) in light and
 * dark themes alike, and a class of its own (cm-odyssey-*) for styling and tests.
 * Prompts stay plain text: "and", "in" or "from" in a prompt are words, not keywords.
 */
import {
  StreamLanguage,
  StringStream,
  syntaxHighlighting
} from '@codemirror/language';
import { Extension } from '@codemirror/state';
import { Tag, tagHighlighter, tags } from '@lezer/highlight';

import { tokeniser } from './detect';
import { LineToken } from './tokens';

export const timelineTags = {
  magic: Tag.define(tags.processingInstruction),
  flag: Tag.define(tags.attributeName),
  flagValue: Tag.define(tags.string),
  time: Tag.define(tags.number),
  action: Tag.define(tags.keyword),
  substitution: Tag.define(tags.variableName),
  escape: Tag.define(tags.escape),
  imageKey: Tag.define(tags.attributeName),
  imageValue: Tag.define(tags.string),
  comment: Tag.define(tags.lineComment),
  separator: Tag.define(tags.contentSeparator),
  invalid: Tag.define(tags.invalid)
};

/** Standard tags the theme styles but that cannot be derived from (modified tags). */
const themeTags: Partial<Record<keyof typeof timelineTags, Tag>> = {
  substitution: tags.special(tags.variableName),
  escape: tags.special(tags.string),
  separator: tags.meta
};

const tokenTable = Object.fromEntries(
  Object.entries(timelineTags).map(([name, tag]) => {
    const extra = themeTags[name as keyof typeof timelineTags];
    return [name, extra ? [tag, extra] : tag];
  })
);

type Token = keyof typeof timelineTags;

/** The class each token carries, beside the theme's own. */
export const tokenClass = (token: Token): string =>
  'cm-odyssey-' + token.replace(/[A-Z]/g, c => '-' + c.toLowerCase());

interface State {
  line: number;
  /** The tokens of the current body line, from the shared tokeniser. */
  tokens: LineToken[];
}

function magicLine(stream: StringStream): Token | null {
  if (stream.match(tokeniser.pattern('cell_magic'))) {
    return 'magic';
  }
  if (stream.match(/^--?[A-Za-z][\w-]*/)) {
    return 'flag';
  }
  if (stream.match(/^"[^"]*"?/) || stream.match(/^'[^']*'?/) || stream.match(/^\S+/)) {
    return 'flagValue';
  }
  stream.next();
  return null;
}

/** The body line's next token, from the tokens the shared tokeniser found in it. */
function bodyToken(stream: StringStream, tokens: LineToken[]): Token | null {
  const next = tokens.find(found => found.end > stream.pos);
  if (!next) {
    stream.skipToEnd();
    return null;
  }
  if (next.start > stream.pos) {
    stream.pos = next.start;
    return null;
  }
  stream.pos = next.end;
  return next.kind;
}

function token(stream: StringStream, state: State): Token | null {
  if (stream.sol()) {
    state.line += 1;
    state.tokens = state.line === 0 ? [] : tokeniser.tokens(stream.string);
  }
  if (state.line === 0) {
    return stream.eatSpace() ? null : magicLine(stream);
  }
  return bodyToken(stream, state.tokens);
}

export const timelineLanguage = StreamLanguage.define<State>({
  name: 'odyssey-timeline',
  startState: () => ({ line: -1, tokens: [] }),
  copyState: state => ({ ...state }),
  blankLine: state => {
    state.line += 1;
  },
  token,
  tokenTable,
  languageData: { commentTokens: { line: tokeniser.grammar.comment_prefix } }
});

/** The language plus the cm-odyssey-* classes. */
export function timeline(): Extension {
  return [
    timelineLanguage,
    syntaxHighlighting(
      tagHighlighter(
        (Object.keys(timelineTags) as Token[]).map(name => ({
          tag: timelineTags[name],
          class: tokenClass(name)
        }))
      )
    )
  ];
}
