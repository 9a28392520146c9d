// A small reader of nginx's configuration syntax for tests: directives (`name args;`) and blocks
// (`name args { ... }`), with # comments and quoted strings. Enough to ask what a file says
// (which upstream servers, which headers in which location) without matching text by regex.
// Plus what the tests need to run the file: the binary, a free port, a runnable copy.
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';

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

/** The nginx binary: on PATH, or Debian's /usr/sbin (not on every user's PATH); throws naming the package. */
export function nginxBinary(): string {
  const bin = ['nginx', '/usr/sbin/nginx'].find((b) => !spawnSync(b, ['-v'], { encoding: 'utf8' }).error);
  if (!bin) throw new Error('nginx is not installed, so deploy/nginx.conf cannot be checked. Install it with: apt-get install -y nginx-light');
  return bin;
}

/** A free TCP port on loopback (closed again before it is returned). */
export const freePort = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

/**
 * deploy/nginx.conf made runnable here, by any user: each upstream `server <name>:<port>` is
 * pointed at `upstreams[name]` (compose's service names exist only inside its network), the
 * listener moves to 127.0.0.1:`listenPort`, and everything nginx writes (pid, logs, temp files)
 * goes under `dir`. Nothing else changes: headers, timeouts, maps and buffers are the real ones.
 */
export function runnableConf(source: string, opts: { upstreams: Record<string, string>; listenPort: number; dir: string }): string {
  let conf = source.replace(/(\bserver\s+)([\w.-]+):(\d+)/g, (whole, lead: string, host: string) => {
    const target = opts.upstreams[host];
    if (!target) throw new Error(`no address given for upstream server ${host}`);
    return `${lead}${target}`;
  });
  conf = conf.replace(/\/dev\/(stdout|stderr)/g, path.join(opts.dir, '$1.log'));
  conf = conf.replace(/^(\s*listen\s+)\d+;/gm, `$1127.0.0.1:${opts.listenPort};`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${path.join(opts.dir, t)};`).join(' ');
  return `pid ${path.join(opts.dir, 'nginx.pid')};\n${conf.replace(/^http \{/m, `http {\n  ${temp}`)}`;
}
