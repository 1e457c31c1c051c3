import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { cli, lines } from './support.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The subcommand names a help text lists under "Commands:" (without `help`): that block ends at a blank line. */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:\n/m)[1]?.split(/\n\s*\n/)[0];
  if (!section) return [];
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)]
    .map((m) => m[1] ?? '')
    .filter((name) => name !== 'help');
}

/** The example lines of a help text: the indented lines right under "Examples:". */
function examplesIn(help: string): string[] {
  const section = help.split(/^Examples:\n/m)[1] ?? '';
  const lines: string[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('  ')) break;
    lines.push(line.trim());
  }
  return lines;
}

/**
 * Every runnable command, as its argument path (`['accounts', 'list']`), with its --help text and its group's
 * (a group such as `accounts` may show the examples of all its subcommands).
 */
async function leafCommands(
  path: string[] = [],
  groupHelp = '',
): Promise<Array<{ path: string[]; help: string; groupHelp: string }>> {
  const { stdout } = await cli([...path, '--help']);
  // Commands nest two deep at most (`accounts list`): never recurse further, whatever a help text says.
  const children = path.length < 2 ? commandsIn(stdout) : [];
  if (path.length > 0 && children.length === 0) return [{ path, help: stdout, groupHelp }];
  const nested = await Promise.all(
    children.map((name) => leafCommands([...path, name], path.length > 0 ? stdout : '')),
  );
  return nested.flat();
}

describe('kosmo-vero --version and --help', { concurrency: true }, () => {
  test('--version and -V print the package version, exit 0, as commander does after other options', async () => {
    for (const args of [['--version'], ['-V'], ['--version', '--json']]) {
      const run = await cli(args);
      assert.deepEqual([run.code, run.stdout, run.stderr], [0, `${pkg.version}\n`, ''], args.join(' '));
    }
  });

  test('--help lists every command and the exit codes', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    const commands = commandsIn(run.stdout);
    for (const name of ['run', 'call', 'docs', 'emulator', 'accounts', 'mcp'])
      assert.ok(commands.includes(name), name);
    assert.match(run.stdout, /Exit codes: 0 ok, 1 script or call error, 2 usage error/);
  });

  test('every command’s --help shows an example of that very command', async (t) => {
    const leaves = await leafCommands();
    assert.ok(leaves.length >= 6);
    for (const { path, help, groupHelp } of leaves) {
      const name = path.join(' ');
      await t.test(name, () => {
        // Its own Examples when it has some; a subcommand without may rely on its group's (`accounts --help`
        // shows `accounts list` and `accounts test`), but only if one of those lines runs this subcommand.
        const own = examplesIn(help);
        const shown = own.length > 0 ? own : examplesIn(groupHelp);
        assert.ok(shown.length > 0, `neither ${name} --help nor its group's shows Examples`);
        const invocation = new RegExp(`(^|[\\s|])kosmo-vero ${name}(\\s|$)`);
        assert.ok(
          shown.some((line) => invocation.test(line)),
          `no example runs "kosmo-vero ${name}":\n${shown.join('\n')}`,
        );
      });
    }
  });
});

describe('bad usage', { concurrency: true }, () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing argument', ['call'], /missing required argument 'function'/],
    ['an unknown option', ['docs', '--nope'], /unknown option '--nope'/],
    ['an unknown command', ['nope'], /unknown command 'nope'/],
    ['a conflicting value', ['emulator', '--port', 'x'], /--port: not a port: x/],
  ];
  for (const [what, args, message] of cases) {
    test(`${what}: exit 2, nothing on stdout, the reason on stderr`, async () => {
      const run = await cli(args);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(lines(run.stderr)[0] ?? '', message);
    });
  }

  test('a usage error is one line on stderr', async () => {
    const runs = await Promise.all(cases.map(([, args]) => cli(args)));
    for (const run of runs) assert.equal(lines(run.stderr).length, 1, run.stderr);
  });
});
