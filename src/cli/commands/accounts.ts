import type { Command } from 'commander';
import type { Runtime } from '../../runtime/runtime.js';
import type { Cli } from '../io.js';
import { terminalSafe, UsageError } from '../output.js';
import { addConnectionFlags, openRuntime, type RuntimeFlags } from '../runtime-options.js';

/** `no account is configured: set ...` with every integration's variables. */
const noAccount = (runtime: Runtime): string =>
  `no account is configured: set a credential in the environment or a --config file (${runtime
    .accountVariables()
    .map(({ integration, variables }) => `${integration}: ${variables}`)
    .join('; ')})`;

export function registerAccounts(program: Command, cli: Cli): void {
  const accounts = program
    .command('accounts')
    .description('configured accounts (credentials are masked)')
    .addHelpText(
      'after',
      `
Examples:
  kosmo-vero accounts list
  kosmo-vero accounts test marketing --json
  VERO_MARKETING_AUTH_TOKEN=... kosmo-vero accounts list   # a named account`,
    );
  accounts
    .command('list')
    .description('list configured accounts')
    .addHelpText(
      'after',
      `
Examples:
  kosmo-vero accounts list
  kosmo-vero accounts list --json
  kosmo-vero accounts list --config accounts.json`,
    )
    .option('--config <file>', 'JSON config file with accounts and permissions')
    .option('--json', 'print one JSON object on stdout')
    .action(async (flags: RuntimeFlags) => {
      const { runtime, close } = await openRuntime(cli, flags);
      try {
        const list = runtime.accounts();
        if (flags.json) cli.json({ ok: true, accounts: list });
        else if (list.length === 0) cli.out(`${noAccount(runtime)}\n`);
        else
          for (const a of list) {
            const detail =
              a.error ?? [a.credential_kind, a.credential_hint, ...Object.values(a.settings)].join(' ');
            cli.out(
              `${terminalSafe(`${a.integration}.${a.name}\t${detail}${a.base_url ? `\t${a.base_url}` : ''}`)}\n`,
            );
          }
      } finally {
        await close();
      }
    });
  addConnectionFlags(
    accounts
      .command('test')
      .description('check that each account (or the named one) can reach its API; sends no data')
      .argument('[name]', 'account name')
      .addHelpText(
        'after',
        `
Examples:
  kosmo-vero accounts test
  kosmo-vero accounts test marketing --json
  kosmo-vero accounts test --emulator          # against an embedded emulator`,
      ),
  ).action(async (name: string | undefined, flags: RuntimeFlags) => {
    const { runtime, close } = await openRuntime(cli, flags);
    try {
      if (runtime.accounts().length === 0) throw new UsageError(noAccount(runtime));
      const tests = await runtime.testAccounts(name);
      const ok = tests.every((t) => t.ok);
      if (flags.json) cli.json({ ok, accounts: tests });
      else {
        for (const t of tests) {
          const state = t.ok ? `reachable (${t.latency_ms} ms)` : `UNREACHABLE: ${t.error}`;
          // The error may quote the remote service: shown escaped, like any text from outside.
          cli.out(`${terminalSafe(`${t.integration}.${t.account}\t${state}\t${t.base_url}`)}\n`);
        }
        for (const note of new Set(tests.map((t) => t.note))) cli.out(`Note: ${note}\n`);
      }
      cli.exitCode = ok ? 0 : 1;
    } finally {
      await close();
    }
  });
}
