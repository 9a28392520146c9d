// A small reader of nginx's configuration syntax for tests: directives (`name args;`) and blocks
// (`name args { ... }`), with # comments and quoted strings. Enough to ask what a file says
// (which upstream servers, which headers in which location) without matching text by regex.

export interface Directive {
  name: string;
  args: string[];
  /** The directives inside `{ ... }`; undefined for a simple directive. */
  block?: Directive[];
  line: number;
}

type Token = { text: string; line: number; quoted: boolean };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ text: c, line, quoted: false });
      i++;
    } else if (c === '"' || c === "'") {
      const start = line;
      let text = '';
      i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === '\\' && i + 1 < source.length) i++;
        if (source[i] === '\n') line++;
        text += source[i];
        i++;
      }
      if (i >= source.length) throw new Error(`nginx.conf: unterminated string from line ${start}`);
      i++;
      tokens.push({ text, line: start, quoted: true });
    } else {
      let text = '';
      while (i < source.length && !/[\s{};#]/.test(source[i]!)) text += source[i++];
      tokens.push({ text, line, quoted: false });
    }
  }
  return tokens;
}

/** Parses a whole file; throws on unbalanced braces or a directive without its `;`. */
export function parseNginxConf(source: string): Directive[] {
  const tokens = tokenize(source);
  let pos = 0;
  const parseBlock = (inner: boolean): Directive[] => {
    const out: Directive[] = [];
    while (pos < tokens.length) {
      const first = tokens[pos]!;
      if (!first.quoted && first.text === '}') {
        if (!inner) throw new Error(`nginx.conf: unexpected "}" on line ${first.line}`);
        pos++;
        return out;
      }
      const words: Token[] = [];
      while (pos < tokens.length && (tokens[pos]!.quoted || !['{', '}', ';'].includes(tokens[pos]!.text))) words.push(tokens[pos++]!);
      const end = tokens[pos];
      if (!end || words.length === 0 || end.text === '}') throw new Error(`nginx.conf: directive without ";" near line ${first.line}`);
      pos++;
      const [name, ...args] = words.map((w) => w.text);
      out.push(end.text === '{' ? { name: name!, args, block: parseBlock(true), line: first.line } : { name: name!, args, line: first.line });
    }
    if (inner) throw new Error('nginx.conf: a block is not closed');
    return out;
  };
  return parseBlock(false);
}

/** Every directive named `name` directly inside `within`. */
export const all = (within: Directive[], name: string): Directive[] => within.filter((d) => d.name === name);

/** The one directive named `name` directly inside `within` (with `args[0]` when given); throws if there is not exactly one. */
export function one(within: Directive[], name: string, firstArg?: string): Directive {
  const found = all(within, name).filter((d) => firstArg === undefined || d.args[0] === firstArg);
  if (found.length !== 1) throw new Error(`expected one "${name}${firstArg ? ` ${firstArg}` : ''}" directive, found ${found.length}`);
  return found[0]!;
}

/** nginx time units (`90`, `90s`, `5m`, `1h`, `1d`) in seconds. */
export function seconds(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  if (!m) throw new Error(`not an nginx time: ${value}`);
  const n = Number(m[1]);
  return { ms: n / 1000, s: n, m: n * 60, h: n * 3600, d: n * 86400 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
}

/** nginx sizes (`512`, `8k`, `2m`, `1g`) in bytes. */
export function size(value: string): number {
  const m = /^(\d+)([kmg])?$/i.exec(value);
  if (!m) throw new Error(`not an nginx size: ${value}`);
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
}
