import type { Command } from 'commander';
import type { Runtime } from '../../runtime/runtime.js';
import type { Cli } from '../io.js';

/** With one integration, its Lua reference is what a reader wants; with several, the index that lists them. */
function defaultPage(runtime: Runtime): string {
  const references = runtime.listDocs().filter(({ page }) => /^integrations\.[^.]+$/.test(page));
  return references.length === 1 && references[0] ? references[0].page : 'integrations';
}

export function registerDocs(program: Command, cli: Cli): void {
  program
    .command('docs')
    .description('print what lua_read_doc(page) returns inside a script')
    .argument(
      '[page]',
      'doc page, or a function name such as track_event (default: the Lua reference, or the index when there are several integrations)',
    )
    .option('--list', 'list every page')
    .option('--search <query>', 'pages containing every word of the query')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      `
Examples:
  kosmo-vero docs                                # the Lua reference
  kosmo-vero docs integrations.vero.track_event  # one function
  kosmo-vero docs --list
  kosmo-vero docs --search unsubscribe`,
    )
    .action(
      async (requested: string | undefined, flags: { list?: boolean; search?: string; json?: boolean }) => {
        const { createRuntime } = await import('../../index.js');
        const runtime = createRuntime({ env: {} });
        if (flags.list) {
          const pages = runtime.listDocs();
          if (flags.json) cli.json({ ok: true, pages });
          else for (const { page: name, title } of pages) cli.out(`${name}\t${title}\n`);
          return;
        }
        if (flags.search !== undefined) {
          const hits = runtime.searchDocs(flags.search);
          if (flags.json) cli.json({ ok: true, query: flags.search, hits });
          else {
            for (const hit of hits) cli.out(`${hit.page}\t${hit.title}\n  ${hit.matches.join('\n  ')}\n`);
            if (hits.length === 0) cli.out(`no page mentions "${flags.search}"\n`);
          }
          return;
        }
        const page = requested ?? defaultPage(runtime);
        const text = runtime.readDoc(page, '`kosmo-vero docs --list`');
        if (flags.json) cli.json({ ok: true, page, text });
        else cli.out(text);
      },
    );
}
