/**
 * A renderer for the Go-template subset deploy/helm/footfall uses, so the chart can be checked without a
 * Helm binary (none is installed where the tests run, and no kept npm package renders Helm charts).
 * Supported: text with {{- -}} trimming and comments; if / else if / else / with / range / define / end;
 * `$x := …` and `$`; pipelines with parentheses; .Values/.Release/.Chart fields; the functions in FUNCS.
 * Anything else throws, so a template that drifts outside the subset fails loudly instead of rendering wrong.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';

type Value = unknown;
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; expr: string }
  | { kind: 'assign'; name: string; expr: string }
  | { kind: 'block'; verb: 'if' | 'with' | 'range'; branches: { expr: string | null; body: Node[] }[] }
  | { kind: 'define'; name: string; body: Node[] };

interface Scope {
  readonly root: Value;
  readonly vars: Map<string, Value>;
  readonly defines: Map<string, Node[]>;
  readonly template: string;
}

export interface RenderOptions {
  readonly releaseName?: string;
  readonly namespace?: string;
  /** Merged over values.yaml like `helm --set`/`-f`: maps merge, everything else replaces, null deletes. */
  readonly values?: Record<string, unknown>;
}

export interface RenderedTemplate {
  readonly file: string;
  readonly text: string;
}

/** Renders every template of the chart in `chartDir`, like `helm template`; throws on `required` and on errors. */
export function renderChart(chartDir: string, options: RenderOptions = {}): RenderedTemplate[] {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const defaults = parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const root = {
    Values: merge(defaults, options.values ?? {}),
    Release: { Name: options.releaseName ?? 'release', Namespace: options.namespace ?? 'default', Service: 'Helm' },
    Chart: Object.fromEntries(Object.entries(chart).map(([k, v]) => [k[0]!.toUpperCase() + k.slice(1), v])),
  };
  const dir = join(chartDir, 'templates');
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|tpl)$/.test(f)).sort();
  const defines = new Map<string, Node[]>();
  const parsed = files.map((file) => ({ file, nodes: parse(readFileSync(join(dir, file), 'utf8'), file) }));
  for (const { nodes } of parsed) collectDefines(nodes, defines);
  return parsed
    .filter(({ file }) => !file.startsWith('_'))
    .map(({ file, nodes }) => ({
      file,
      text: renderNodes(nodes, root, { root, vars: new Map([['$', root]]), defines, template: file }),
    }));
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = merge(out[key] as Record<string, unknown>, value);
    else out[key] = value;
  }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// --- parsing ----------------------------------------------------------------------------------------

function tokenize(source: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    let text = source.slice(pos, open === -1 ? undefined : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      out.push({ text });
      break;
    }
    const close = source.indexOf('}}', open);
    if (close === -1) throw new Error('unclosed action');
    let inner = source.slice(open + 2, close);
    if (inner.startsWith('- ') || inner.startsWith('-\n')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = inner.endsWith(' -') || inner.endsWith('\n-');
    if (trimNext) inner = inner.slice(0, -1);
    out.push({ text });
    inner = inner.trim();
    if (!(inner.startsWith('/*') && inner.endsWith('*/'))) out.push({ action: inner });
    pos = close + 2;
  }
  return out.filter((t) => !('text' in t) || t.text !== '');
}

function parse(source: string, file: string): Node[] {
  const tokens = tokenize(source);
  let i = 0;
  function parseList(terminators: string[]): { nodes: Node[]; end: string } {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const token = tokens[i++]!;
      if ('text' in token) {
        nodes.push({ kind: 'text', text: token.text });
        continue;
      }
      const action = token.action;
      const word = /^(\w+)\b/.exec(action)?.[1] ?? '';
      if (terminators.includes(word)) return { nodes, end: action };
      if (word === 'if' || word === 'with' || word === 'range') {
        const branches: { expr: string | null; body: Node[] }[] = [];
        let expr: string | null = action.slice(word.length).trim();
        for (;;) {
          const { nodes: body, end } = parseList(['else', 'end']);
          branches.push({ expr, body });
          if (end === 'end') break;
          const rest = end.slice(4).trim();
          expr = rest.startsWith('if ') ? rest.slice(3).trim() : rest === '' ? null : fail(`unsupported ${end}`);
        }
        nodes.push({ kind: 'block', verb: word, branches });
      } else if (word === 'define') {
        const name = JSON.parse(action.slice(6).trim()) as string;
        nodes.push({ kind: 'define', name, body: parseList(['end']).nodes });
      } else if (['template', 'block', 'break', 'continue'].includes(word)) {
        fail(`unsupported action {{ ${action} }}`);
      } else {
        const assign = /^(\$\w+)\s*:?=\s*([\s\S]+)$/.exec(action);
        nodes.push(assign ? { kind: 'assign', name: assign[1]!, expr: assign[2]! } : { kind: 'output', expr: action });
      }
    }
    if (terminators.length > 0) fail(`missing {{ end }}`);
    return { nodes, end: '' };
  }
  function fail(message: string): never {
    throw new Error(`${file}: ${message}`);
  }
  return parseList([]).nodes;
}

function collectDefines(nodes: Node[], into: Map<string, Node[]>): void {
  for (const node of nodes) if (node.kind === 'define') into.set(node.name, node.body);
}

// --- evaluation -------------------------------------------------------------------------------------

function renderNodes(nodes: Node[], dot: Value, scope: Scope): string {
  let out = '';
  const local: Scope = { ...scope, vars: new Map(scope.vars) };
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out += node.text;
        break;
      case 'define':
        break;
      case 'assign':
        local.vars.set(node.name, evaluate(node.expr, dot, local));
        break;
      case 'output':
        out += print(evaluate(node.expr, dot, local), local);
        break;
      case 'block':
        out += renderBlock(node, dot, local);
    }
  }
  return out;
}

function renderBlock(node: Extract<Node, { kind: 'block' }>, dot: Value, scope: Scope): string {
  for (const [index, branch] of node.branches.entries()) {
    if (branch.expr === null) return renderNodes(branch.body, dot, scope);
    const value = evaluate(branch.expr, dot, scope);
    // `with … else if …` tests like if; only the first branch rebinds the dot.
    if (node.verb === 'range' && index === 0) {
      const items = Array.isArray(value) ? value : isMap(value) ? Object.values(value) : [];
      if (items.length > 0) return items.map((item) => renderNodes(branch.body, item, scope)).join('');
    } else if (truthy(value)) {
      return renderNodes(branch.body, node.verb === 'with' && index === 0 ? value : dot, scope);
    }
  }
  return '';
}

function print(value: Value, scope: Scope): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') throw new Error(`${scope.template}: printing a ${Array.isArray(value) ? 'list' : 'map'}; use toYaml`);
  return String(value);
}

function truthy(value: Value): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isMap(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

type Token = { t: 'str' | 'num' | 'ident' | 'field' | 'var' | '(' | ')' | '|'; v: string };

function lex(expr: string): Token[] {
  const re = /\s*(?:("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|(\$\w*(?:\.\w+)*)|(\.(?:\w+(?:\.\w+)*)?)|([A-Za-z_]\w*)|([()|]))/y;
  const tokens: Token[] = [];
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < expr.trimEnd().length && (m = re.exec(expr))) {
    if (m[1]) tokens.push({ t: 'str', v: JSON.parse(m[1]) as string });
    else if (m[2]) tokens.push({ t: 'num', v: m[2] });
    else if (m[3]) tokens.push({ t: 'var', v: m[3] });
    else if (m[4]) tokens.push({ t: 'field', v: m[4] });
    else if (m[5]) tokens.push({ t: 'ident', v: m[5] });
    else tokens.push({ t: m[6] as '(' | ')' | '|', v: m[6]! });
  }
  if (re.lastIndex < expr.trimEnd().length) throw new Error(`cannot parse expression: ${expr}`);
  return tokens;
}

function evaluate(expr: string, dot: Value, scope: Scope): Value {
  const tokens = lex(expr);
  let i = 0;
  function pipeline(): Value {
    let value: Value = command(undefined, false);
    while (tokens[i]?.t === '|') {
      i++;
      value = command(value, true);
    }
    return value;
  }
  function command(piped: Value, hasPiped: boolean): Value {
    const head = tokens[i];
    if (head?.t === 'ident' && !['true', 'false', 'nil'].includes(head.v)) {
      i++;
      const args: Value[] = [];
      while (i < tokens.length && tokens[i]!.t !== '|' && tokens[i]!.t !== ')') args.push(operand());
      if (hasPiped) args.push(piped);
      return call(head.v, args, scope);
    }
    if (hasPiped) throw new Error(`${scope.template}: cannot pipe into a value in ${expr}`);
    return operand();
  }
  function operand(): Value {
    const token = tokens[i++];
    if (!token) throw new Error(`${scope.template}: missing operand in ${expr}`);
    switch (token.t) {
      case 'str':
        return token.v;
      case 'num':
        return Number(token.v);
      case 'ident':
        return token.v === 'true' ? true : token.v === 'false' ? false : null;
      case 'field':
        return walk(dot, token.v.split('.').slice(1).filter(Boolean), scope, token.v);
      case 'var': {
        const [name, ...path] = token.v.split('.');
        if (!scope.vars.has(name!)) throw new Error(`${scope.template}: undefined variable ${name}`);
        return walk(scope.vars.get(name!), path, scope, token.v);
      }
      case '(': {
        const value = pipeline();
        if (tokens[i++]?.t !== ')') throw new Error(`${scope.template}: unbalanced parentheses in ${expr}`);
        return value;
      }
      default:
        throw new Error(`${scope.template}: unexpected ${token.v} in ${expr}`);
    }
  }
  const value = pipeline();
  if (i !== tokens.length) throw new Error(`${scope.template}: trailing tokens in ${expr}`);
  return value;
}

/** Go templates: a missing map key is nil, but a field of nil is an error (Helm fails the render). */
function walk(value: Value, path: string[], scope: Scope, text: string): Value {
  let current = value;
  for (const key of path) {
    if (!isMap(current)) throw new Error(`${scope.template}: nil pointer evaluating ${text}`);
    current = current[key];
  }
  return current;
}

function toYaml(value: Value): string {
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
}

function indent(width: number, text: string): string {
  const pad = ' '.repeat(width);
  return pad + text.replace(/\n/g, `\n${pad}`);
}

function call(name: string, args: Value[], scope: Scope): Value {
  const str = (v: Value) => (v === null || v === undefined ? '' : String(v));
  switch (name) {
    case 'include': {
      const body = scope.defines.get(str(args[0]));
      if (!body) throw new Error(`${scope.template}: no template named ${str(args[0])}`);
      return renderNodes(body, args[1], { ...scope, vars: new Map([['$', scope.root]]) });
    }
    case 'required':
      if (args[1] === null || args[1] === undefined || args[1] === '') {
        throw new Error(`execution error at (footfall/templates/${scope.template}): ${str(args[0])}`);
      }
      return args[1];
    case 'default':
      return truthy(args[1]) ? args[1] : args[0];
    case 'toYaml':
      return toYaml(args[0]);
    case 'nindent':
      return `\n${indent(Number(args[0]), str(args[1]))}`;
    case 'indent':
      return indent(Number(args[0]), str(args[1]));
    case 'quote':
      return args.filter((a) => a !== null && a !== undefined).map((a) => JSON.stringify(String(a))).join(' ');
    case 'printf': {
      let n = 1;
      return str(args[0]).replace(/%[sdv]/g, () => str(args[n++]));
    }
    case 'trunc':
      return str(args[1]).slice(0, Number(args[0]));
    case 'trimSuffix': {
      const [suffix, s] = [str(args[0]), str(args[1])];
      return suffix !== '' && s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
    }
    case 'sha256sum':
      return createHash('sha256').update(str(args[0])).digest('hex');
    case 'dig': {
      const map = args[args.length - 1];
      const fallback = args[args.length - 2];
      let current: Value = map;
      for (const key of args.slice(0, -2)) current = isMap(current) ? current[str(key)] : undefined;
      return current === undefined ? fallback : current;
    }
    case 'eq':
      return args.slice(1).some((a) => a === args[0]);
    case 'not':
      return !truthy(args[0]);
    case 'and':
      return args.find((a) => !truthy(a)) ?? args[args.length - 1];
    case 'or':
      return args.find((a) => truthy(a)) ?? args[args.length - 1];
    default:
      throw new Error(`${scope.template}: function ${name} is not supported by test/support/helm-template.ts`);
  }
}
