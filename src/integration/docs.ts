import { didYouMean } from '../suggest.js';
import type { Integration, IntegrationFunction } from './definition.js';
import { fullNameOf } from './definition.js';
import { UnknownDocPageError } from './errors.js';
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

function parameterTable(fn: IntegrationFunction, heading: string): string {
  const rows = parameterRows(fn);
  if (rows.length === 0) return `${heading} Parameters\n\nNone.`;
  const lines = rows.map(
    (row) => `| \`${row.name}\` | ${row.type} | ${row.required ? 'yes' : 'no'} | ${row.description} |`,
  );
  return [
    `${heading} Parameters`,
    '',
    '| Name | Type | Required | Description |',
    '|------|------|----------|-------------|',
    ...lines,
  ].join('\n');
}

/** One function's section; `level` is the heading depth of its name (2 in the reference, 3 among extras). */
function functionSection(fn: IntegrationFunction, level: number): string {
  const sub = '#'.repeat(level + 1);
  return [
    `${'#'.repeat(level)} ${fn.name}`,
    fn.description,
    parameterTable(fn, sub),
    `${sub} Example\n\n\`\`\`lua\n${fn.example}\n\`\`\``,
  ].join('\n\n');
}

export function renderReference(integration: Integration): string {
  const published = integration.functions.filter((fn) => !fn.extra);
  const extras = integration.functions.filter((fn) => fn.extra);
  const sections = [...published.map((fn) => functionSection(fn, 2)), ...integration.guide];
  if (extras.length > 0) {
    sections.push(
      [
        `## ${integration.extrasHeading ?? 'More Functions'}`,
        `These functions are not on the published ${integration.title} reference; they map to endpoints ${integration.title} supports and work the same way, in every account namespace.`,
        ...extras.map((fn) => functionSection(fn, 3)),
      ].join('\n\n'),
    );
  }
  return `# ${integration.title} — Lua API Reference\n\n${sections.join('\n\n---\n\n')}\n`;
}

function functionPage(integration: Integration, fn: IntegrationFunction): string {
  const fullName = fullNameOf(integration, fn);
  const about = [
    `Call it as \`app.integrations.${integration.name}.${fn.name}({...})\` (also \`app.integrations.${integration.name}.${integration.name}_${fn.name}\`).`,
    `Full name \`${fullName}\`; operation: ${fn.operation}${fn.extra ? '; not on the published reference' : ''}.`,
  ].join(' ');
  return `${functionSection(fn, 1)}\n\n${about}\n`;
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

/** Every page `lua_read_doc` can return, rendered once from the integrations' own metadata. */
export class DocLibrary {
  private readonly pages = new Map<string, { title: string; text: string }>();

  constructor(integrations: Integration[]) {
    this.pages.set('integrations', { title: 'Integrations', text: integrationsIndex(integrations) });
    for (const integration of integrations) {
      this.pages.set(`integrations.${integration.name}`, {
        title: `${integration.title} — Lua API Reference`,
        text: renderReference(integration),
      });
      for (const fn of integration.functions) {
        this.pages.set(`integrations.${integration.name}.${fn.name}`, {
          title: fullNameOf(integration, fn),
          text: functionPage(integration, fn),
        });
      }
    }
  }

  list(): DocPage[] {
    return [...this.pages].map(([page, { title }]) => ({ page, title }));
  }

  /** `listHint` names what lists every page where the reader is (default: Lua's `lua_list_docs()`). */
  read(page: string, listHint = 'lua_list_docs()'): string {
    const found = this.pages.get(page.trim()) ?? this.pages.get(this.functionPage(page.trim()) ?? '');
    if (found) return found.text;
    const names = [...this.pages.keys()];
    throw new UnknownDocPageError(
      `no doc page "${page}".${didYouMean(page, names)} Pages: ${names.filter((n) => n.split('.').length <= 2).join(', ')}; ${listHint} lists all.`,
    );
  }

  /**
   * The page of an integration or function named the way calls name it: `vero` (its reference), `vero.track_event`,
   * `vero_track_event`, or `track_event` when only one integration has it.
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
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) return [];
    const hits: DocSearchHit[] = [];
    for (const [page, { title, text }] of this.pages) {
      const lower = text.toLowerCase();
      if (!words.every((word) => lower.includes(word))) continue;
      const matches = text
        .split('\n')
        .filter((line) => words.some((word) => line.toLowerCase().includes(word)))
        .map((line) => line.trim())
        .slice(0, 5);
      hits.push({ page, title, matches });
    }
    // Narrow pages first: a function's own page answers better than the whole reference.
    return hits.sort((a, b) => b.page.split('.').length - a.page.split('.').length);
  }
}
