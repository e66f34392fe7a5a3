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

import { RULES, pattern } from './detect';

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
  slot: 'magic' | 'time' | 'action' | 'prompt' | 'done';
}

const IMAGE_TAIL = /^image=(?:"[^"]*"|'[^']*'|[^\s#]+)\s*(?:#.*)?$/;

function magicLine(stream: StringStream): Token | null {
  if (stream.match(/^%%odyssey_simulate/)) {
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

function prompt(stream: StringStream): Token | null {
  if (stream.match('\\#')) {
    return 'escape';
  }
  if (stream.peek() === '#') {
    stream.skipToEnd();
    return 'comment';
  }
  if (stream.match('{{') || stream.match('}}')) {
    return 'escape';
  }
  if (stream.match(/^\{[^{}]*\}/)) {
    return 'substitution';
  }
  if (stream.peek() === '{' || stream.peek() === '}') {
    stream.next();
    return 'invalid';
  }
  const atWord = stream.pos === 0 || /\s/.test(stream.string.charAt(stream.pos - 1));
  if (atWord && stream.match(IMAGE_TAIL, false)) {
    stream.match('image=');
    return 'imageKey';
  }
  if (stream.string.slice(0, stream.pos).endsWith('image=') && stream.match(/^(?:"[^"]*"|'[^']*'|[^\s#]+)/)) {
    return 'imageValue';
  }
  if (!stream.match(/^[^\s\\#{}]+/)) {
    stream.next();
  }
  return null;
}

function token(stream: StringStream, state: State): Token | null {
  if (stream.sol()) {
    state.line += 1;
    state.slot = state.line === 0 ? 'magic' : 'time';
  }
  if (stream.eatSpace()) {
    return null;
  }
  if (state.slot === 'magic') {
    return magicLine(stream);
  }
  if (state.slot === 'prompt') {
    return prompt(stream);
  }
  if (stream.peek() === '#') {
    stream.skipToEnd();
    return 'comment';
  }
  if (state.slot === 'time' && pattern('separator').test(stream.string.trim())) {
    stream.skipToEnd();
    return 'separator';
  }
  const word = stream.match(/^[^\s#]+/) as RegExpMatchArray | null;
  if (!word) {
    stream.next();
    return null;
  }
  if (state.slot === 'time') {
    state.slot = 'action';
    return pattern('time').test(word[0]) ? 'time' : 'invalid';
  }
  if (state.slot === 'action') {
    const action = word[0].toLowerCase();
    state.slot = action === 'end' ? 'done' : 'prompt';
    return RULES.actions.includes(action) ? 'action' : 'invalid';
  }
  return 'invalid'; // text after 'end'
}

export const timelineLanguage = StreamLanguage.define<State>({
  name: 'odyssey-timeline',
  startState: () => ({ line: -1, slot: 'magic' }),
  copyState: state => ({ ...state }),
  blankLine: state => {
    state.line += 1;
  },
  token,
  tokenTable,
  languageData: { commentTokens: { line: '#' } }
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
