import type { Integration, IntegrationFunction } from '../integrations/definition.js';
import { fullNameOf, slugOf } from '../integrations/definition.js';
import { didYouMean, MAX_NAME_LENGTH } from '../suggest.js';
import { InvalidArgumentsError, UnknownDocPageError } from './errors.js';
import { jsonSchemaOf } from './validate-arguments.js';

export interface DocPage {
  page: string;
  title: string;
}

export interface DocSearchHit extends DocPage {
  /** The lines of the page that match, trimmed. */
  matches: string[];
}

interface ParameterRow {
  name: string;
  type: string;
  required: boolean;
  description: string;
}

type PropertySchema = { type?: string; description?: string };

export function parameterRows(fn: IntegrationFunction): ParameterRow[] {
  const schema = jsonSchemaOf(fn.schema) as {
    properties?: Record<string, PropertySchema>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    type: property.type ?? 'any',
    required: schema.required?.includes(name) ?? false,
    description: property.description ?? '',
  }));
}

function rowsTable(rows: ParameterRow[]): string {
  return [
    '| Name | Type | Required | Description |',
    '|------|------|----------|-------------|',
    ...rows.map(
      (row) => `| \`${row.name}\` | ${row.type} | ${row.required ? 'yes' : 'no'} | ${row.description} |`,
    ),
  ].join('\n');
}

/** `published`: only the parameters the published reference lists (the others are documented after it). */
function parameterTable(fn: IntegrationFunction, heading: string, published = false): string {
  const extra = fn.extraParameters ?? [];
  const rows = parameterRows(fn).filter((row) => !published || !extra.includes(row.name));
  if (rows.length === 0) return `${heading} Parameters\n\nNone.`;
  return `${heading} Parameters\n\n${rowsTable(rows)}`;
}

/** One function's section; `level` is the heading depth of its name (2 in the reference, 3 among extras). */
function functionSection(fn: IntegrationFunction, level: number, published = false): string {
  const sub = '#'.repeat(level + 1);
  return [
    `${'#'.repeat(level)} ${fn.name}`,
    fn.description,
    parameterTable(fn, sub, published),
    `${sub} Example\n\n\`\`\`lua\n${fn.example}\n\`\`\``,
  ].join('\n\n');
}

/** The parameters of a published function that its published table leaves out. */
function extraParameterSection(fn: IntegrationFunction): string {
  const extra = fn.extraParameters ?? [];
  const rows = parameterRows(fn).filter((row) => extra.includes(row.name));
  return `### More parameters of ${fn.name}\n\n${rowsTable(rows)}`;
}

function renderReference(integration: Integration): string {
  const published = integration.functions.filter((fn) => !fn.extra);
  const extras = integration.functions.filter((fn) => fn.extra);
  const widened = published.filter((fn) => (fn.extraParameters ?? []).length > 0);
  const sections = [...published.map((fn) => functionSection(fn, 2, true)), ...integration.guide];
  if (extras.length > 0 || widened.length > 0) {
    sections.push(
      [
        `## ${integration.extrasHeading ?? 'More Functions'}`,
        `These functions are not on the published ${integration.title} reference; they map to endpoints ${integration.title} supports and work the same way, in every account namespace.`,
        ...extras.map((fn) => functionSection(fn, 3)),
        ...widened.map(extraParameterSection),
      ].join('\n\n'),
    );
  }
  sections.push(...(integration.notes ?? []));
  return `# ${integration.title} — Lua API Reference\n\n${sections.join('\n\n---\n\n')}\n`;
}

/** `identify_user({id, email, name?, data?})`: KosmoKrator's signature notation, `?` for optional. */
function signature(fn: IntegrationFunction, positional = false): string {
  const names = parameterRows(fn).map((row) => (row.required ? row.name : `${row.name}?`));
  return positional ? `${fn.name}(${names.join(', ')})` : `${fn.name}({${names.join(', ')}})`;
}

/** What `lua_read_doc("integrations.<name>")` starts with, like KosmoKrator's: every function's signature. */
function signatureIndex(integration: Integration): string {
  const base = `app.integrations.${integration.name}`;
  const sample = integration.functions.find((fn) => parameterRows(fn).length >= 2);
  const sampleNames = sample
    ? parameterRows(sample)
        .slice(0, 2)
        .map((row) => row.name)
    : [];
  const positional = sample
    ? ` For example \`${base}.${sample.name}(${sampleNames.join(', ')})\` is \`${base}.${sample.name}({ ${sampleNames.map((n) => `${n} = ${n}`).join(', ')} })\`; more positional arguments than parameters is an error.`
    : '';
  return [
    `# ${base} — ${integration.title}`,
    '',
    `Generated index of the functions documented below. Each takes one table of named parameters (the documented form); positional arguments map onto the parameters in the order shown, \`?\` marking an optional one.${positional}`,
    '',
    '```',
    ...integration.functions.map((fn) => `${base}.${signature(fn)}  -- ${fn.operation}`),
    '```',
    '',
    `A named account: \`${base}.<account>.<function>(...)\`; \`${base}.default.*\` is the default account. Each function also answers to its tool name (\`${base}.${slugOf(integration, integration.functions[0] ?? { name: 'function' })}\`). One function's page: \`lua_read_doc("integrations.${integration.name}.<function>")\`.`,
  ].join('\n');
}

/** The namespace page: the generated signature index, then the reference. docs/lua/<name>.md holds the same text. */
export function renderNamespacePage(integration: Integration): string {
  return `${signatureIndex(integration)}\n\n---\n\n${renderReference(integration)}`;
}

function functionPage(integration: Integration, fn: IntegrationFunction): string {
  const fullName = fullNameOf(integration, fn);
  const base = `app.integrations.${integration.name}`;
  const about = [
    `Call it as \`${base}.${signature(fn)}\` or with positional arguments, \`${base}.${signature(fn, true)}\` (also \`${base}.${slugOf(integration, fn)}\`).`,
    `Full name \`${fullName}\`; operation: ${fn.operation}${fn.extra ? '; not on the published reference' : ''}.`,
  ].join(' ');
  const caveats = (fn.caveats ?? []).map((caveat) => `- ${caveat}`).join('\n');
  const goodToKnow = caveats === '' ? '' : `\n\n## Good to know\n\n${caveats}`;
  return `${functionSection(fn, 1)}${goodToKnow}\n\n${about}\n\n*(Maps to tool: \`${slugOf(integration, fn)}\`)*\n`;
}

function integrationsIndex(integrations: Integration[]): string {
  const rows = integrations.map((integration) => {
    const reads = integration.functions.filter((fn) => fn.operation === 'read').length;
    const writes = integration.functions.length - reads;
    return `| \`${integration.name}\` | ${integration.title} | ${integration.functions.length} | ${reads} | ${writes} | \`lua_read_doc("integrations.${integration.name}")\` |`;
  });
  return [
    '# Integrations',
    '',
    'Every integration is reached as `app.integrations.<name>.<function>({...})`.',
    '',
    '| Name | Title | Functions | Read | Write | Reference |',
    '|------|-------|-----------|------|-------|-----------|',
    ...rows,
    '',
  ].join('\n');
}

/** Longest search query: a few words. Longer ones are refused before any work, so search cost is capped. */
export const MAX_QUERY_LENGTH = 200;

/** Refuses an over-long page name or query before any work is done on it; same message as the tools' schemas. */
function checkLength(tool: string, field: string, value: string, max: number): void {
  if (value.length > max) {
    throw new InvalidArgumentsError(tool, [
      { field, rule: `must be at most ${max} characters (got ${value.length})` },
    ]);
  }
}

interface StoredPage {
  title: string;
  text: string;
  /** Lower-cased once, so a search costs a scan of the pages and nothing more. */
  lower: string;
  lines: Array<{ trimmed: string; lower: string }>;
}

/** Every page `lua_read_doc` can return, rendered once from the integrations' own metadata. */
export class DocLibrary {
  private readonly pages = new Map<string, StoredPage>();

  constructor(integrations: Integration[]) {
    this.add('integrations', 'Integrations', integrationsIndex(integrations));
    for (const integration of integrations) {
      this.add(
        `integrations.${integration.name}`,
        `${integration.title} — Lua API Reference`,
        renderNamespacePage(integration),
      );
      for (const fn of integration.functions) {
        this.add(
          `integrations.${integration.name}.${fn.name}`,
          fullNameOf(integration, fn),
          functionPage(integration, fn),
        );
      }
    }
  }

  list(): DocPage[] {
    return [...this.pages].map(([page, { title }]) => ({ page, title }));
  }

  /** `listHint` names what lists every page where the reader is (default: Lua's `lua_list_docs()`). */
  read(page: string, listHint = 'lua_list_docs()'): string {
    checkLength('lua_read_doc', 'page', page, MAX_NAME_LENGTH);
    const name = this.canonical(page.trim());
    const found =
      this.pages.get(name) ??
      this.pages.get(`integrations.${name}`) ??
      this.pages.get(this.functionPage(name) ?? '');
    if (found) return found.text;
    const names = [...this.pages.keys()];
    const hint = didYouMean(name, names) || didYouMean(`integrations.${name}`, names);
    throw new UnknownDocPageError(
      `Page '${page}' not found.${hint} Pages: ${names.filter((n) => n.split('.').length <= 2).join(', ')}; ${listHint} lists all.`,
    );
  }

  /**
   * KosmoKrator's spellings too: `app.integrations.vero` (its lua_read_doc drops `app.`) and, as its docs.read
   * takes them, `vero.track_event` (read as `integrations.vero.track_event` when no page has the name as given).
   */
  private canonical(page: string): string {
    return page.startsWith('app.') ? page.slice('app.'.length) : page;
  }

  /**
   * The page of a function named the way calls name it beyond the spellings above: `vero_track_event`, or
   * `track_event` when only one integration has it.
   */
  private functionPage(name: string): string | undefined {
    const matches = [...this.pages.keys()].filter((page) => {
      const [, integration, fn] = page.split('.');
      if (fn === undefined) return integration === name;
      return [fn, `${integration}.${fn}`, `${integration}_${fn}`].includes(name);
    });
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Pages containing every word of the query (case-insensitive), with the lines that match. */
  search(query: string): DocSearchHit[] {
    checkLength('lua_search_docs', 'query', query, MAX_QUERY_LENGTH);
    const words = [...new Set(query.toLowerCase().split(/\s+/).filter(Boolean))];
    if (words.length === 0) return [];
    const hits: DocSearchHit[] = [];
    for (const [page, { title, lower, lines }] of this.pages) {
      if (!words.every((word) => lower.includes(word))) continue;
      const matches: string[] = [];
      for (const line of lines) {
        if (matches.length === 5) break;
        if (words.some((word) => line.lower.includes(word))) matches.push(line.trimmed);
      }
      hits.push({ page, title, matches });
    }
    // Narrow pages first: a function's own page answers better than the whole reference.
    return hits.sort((a, b) => b.page.split('.').length - a.page.split('.').length);
  }

  private add(page: string, title: string, text: string): void {
    const lines = text.split('\n').map((line) => ({ trimmed: line.trim(), lower: line.toLowerCase() }));
    this.pages.set(page, { title, text, lower: text.toLowerCase(), lines });
  }
}
