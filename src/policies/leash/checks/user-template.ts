/**
 * `$USER` in a check argument: replaced by the caller's user name. `'$USER` (leash's reference) and
 * `\$USER` (leash's BindMount page) are the literal text `$USER`. A template is split once at load;
 * rendering it for a user is a join.
 */

const PLACEHOLDER = '$USER';

/** Text with the caller's name at `user` positions; literal parts keep `'$USER` / `\$USER` unescaped. */
export interface UserTemplate {
  readonly parts: readonly TemplatePart[];
  readonly hasUser: boolean;
}

type TemplatePart = { readonly literal: string } | { readonly user: true };

/** `'$USER` / `\$USER`: an escaped placeholder, kept as the literal `$USER`. */
function isEscaped(text: string, at: number): { escaped: boolean; marker: number } {
  if (at > 0 && text[at - 1] === "'") return { escaped: true, marker: 1 };
  let backslashes = 0;
  while (at - 1 - backslashes >= 0 && text[at - 1 - backslashes] === '\\') backslashes++;
  // An odd run of backslashes escapes the `$`; an even run is escaped backslashes before a placeholder.
  return backslashes % 2 === 1 ? { escaped: true, marker: 1 } : { escaped: false, marker: 0 };
}

export function parseTemplate(text: string): UserTemplate {
  const parts: TemplatePart[] = [];
  let literal = '';
  let from = 0;
  let hasUser = false;
  for (let at = text.indexOf(PLACEHOLDER); at !== -1; at = text.indexOf(PLACEHOLDER, from)) {
    const { escaped, marker } = isEscaped(text, at);
    literal += text.slice(from, at - marker);
    if (escaped) {
      literal += LITERAL_MARK;
    } else {
      if (literal) parts.push({ literal });
      literal = '';
      parts.push({ user: true });
      hasUser = true;
    }
    from = at + PLACEHOLDER.length;
  }
  literal += text.slice(from);
  if (literal) parts.push({ literal });
  return { parts, hasUser };
}

// Stands for an escaped `$USER` inside literal parts until rendering decides how to spell it
// (a private-use character cannot come from YAML text an admin would write).
const LITERAL_MARK = '\uE000';
const LITERAL_MARKS = /\uE000/g;

const REGEX_SPECIALS = /[.*+?^${}()|[\]\\/-]/g;

export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIALS, '\\$&');
}

/** As a regex source: the user name escaped, an escaped placeholder as `\$USER`. */
export function renderRegexSource(template: UserTemplate, user: string): string {
  return render(template, escapeRegex(user), '\\$USER');
}

/** As plain text (a path): the user name as is, an escaped placeholder as `$USER`. */
export function renderText(template: UserTemplate, user: string): string {
  return render(template, user, PLACEHOLDER);
}

/** A literal text (a leash `startwith` prefix) written as a regex, its `$USER` placeholders kept. */
export function literalAsRegex(text: string): string {
  let out = '';
  for (const part of parseTemplate(text).parts) out += 'literal' in part ? escapeRegex(part.literal).replace(LITERAL_MARKS, '\\$USER') : PLACEHOLDER;
  return out;
}

function render(template: UserTemplate, user: string, literalPlaceholder: string): string {
  let out = '';
  for (const part of template.parts) out += 'literal' in part ? part.literal : user;
  return out.includes(LITERAL_MARK) ? out.replace(LITERAL_MARKS, literalPlaceholder) : out;
}

/**
 * Per-user renderings of templates that name `$USER`, kept for the users seen so far. User names
 * are TLS identities issued by the admin's CA, so the set is small; the cap only bounds a flood.
 */
export class PerUserCache<T> {
  private readonly entries = new Map<string, T>();

  constructor(
    private readonly build: (user: string) => T,
    private readonly cap = 1024,
  ) {}

  get(user: string): T {
    let value = this.entries.get(user);
    if (value === undefined) {
      if (this.entries.size >= this.cap) this.entries.clear();
      value = this.build(user);
      this.entries.set(user, value);
    }
    return value;
  }
}
