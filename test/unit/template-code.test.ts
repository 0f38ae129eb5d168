import { describe, expect, it, test } from 'vitest';
import { RunbookSchema } from '../../src/engine/runbook-schema.ts';
import { validateRunbookTemplates } from '../../src/engine/template.ts';

/**
 * Issue 12: lint refuses a template wherever a shell or an interpreter reads it as code (behind
 * wrappers, after `kubectl exec --` and `docker exec`, in inline code of interpreters, after the
 * ssh host), and wherever it names the program that runs. Each case lists the argv indexes lint
 * must refuse; `X` stands for a template.
 */
const X = '{{ alert.labels.x }}';

const base = {
  id: 'code',
  name: 'Code',
  severity: 'P3',
  service: 'svc',
  triggers: [{ type: 'manual' }],
  decisionTree: [],
  escalation: { primary: '#ops' },
};

function diagnostic(command: string[]) {
  return RunbookSchema.parse({
    ...base,
    diagnostics: [
      { id: 'd', name: 'D', type: 'shell_command', config: { command }, interpret: { healthy: 'true' } },
    ],
    remediations: [],
  });
}

function action(command: string[]) {
  return RunbookSchema.parse({
    ...base,
    diagnostics: [],
    remediations: [
      { id: 'r', name: 'R', type: 'automated', action: { type: 'run_script', config: { command } } },
    ],
  });
}

const errors = (runbook: ReturnType<typeof diagnostic>) =>
  validateRunbookTemplates(runbook).filter((i) => i.severity === 'error');

/** The argv indexes of shell_command `command` that lint refuses. */
const refused = (command: string[]) => errors(diagnostic(command)).map((i) => i.path.slice(3).join('.'));

describe('lint refuses a template a shell or interpreter would read as code', () => {
  test.each([
    // wrappers in front of a shell
    { name: 'env', argv: ['env', 'sh', '-c', `echo ${X}`], at: ['command.3'] },
    {
      name: 'env with options and VAR=value words',
      argv: ['/usr/bin/env', '-i', '-u', 'HOME', '--chdir=/tmp', '--', 'A=1', 'bash', '-c', `echo ${X}`],
      at: ['command.9'],
    },
    { name: 'env -S splits its string into a command', argv: ['env', '-S', `sh -c ${X}`], at: ['command.2'] },
    { name: 'nice -n', argv: ['nice', '-n', '10', 'sh', '-c', `echo ${X}`], at: ['command.5'] },
    {
      name: 'timeout and its duration',
      argv: ['timeout', '-s', 'KILL', '10s', 'bash', '-c', `echo ${X}`],
      at: ['command.6'],
    },
    {
      name: 'sudo options',
      argv: ['sudo', '-u', 'postgres', '-E', 'sh', '-c', `psql ${X}`],
      at: ['command.6'],
    },
    { name: 'xargs', argv: ['xargs', '-n', '1', 'sh', '-c', `echo ${X}`], at: ['command.5'] },
    { name: 'nohup', argv: ['nohup', 'sh', '-c', X], at: ['command.3'] },
    { name: 'stdbuf', argv: ['stdbuf', '-oL', 'sh', '-c', `tail ${X}`], at: ['command.4'] },
    { name: 'ionice', argv: ['ionice', '-c', '3', 'sh', '-c', `du ${X}`], at: ['command.5'] },
    { name: 'chroot', argv: ['chroot', '/srv/root', 'sh', '-c', `ls ${X}`], at: ['command.4'] },
    {
      name: 'wrappers nested',
      argv: ['sudo', 'timeout', '5', 'nice', 'env', 'A=1', 'dash', '-c', `ls ${X}`],
      at: ['command.8'],
    },
    { name: 'sh -c -- script', argv: ['sh', '-c', '--', `ls ${X}`], at: ['command.3'] },
    { name: 'fish -c', argv: ['fish', '-c', `ls ${X}`], at: ['command.2'] },
    // containers
    {
      name: 'kubectl exec --',
      argv: ['kubectl', 'exec', '-n', 'prod', 'pod-1', '--', 'sh', '-c', `cat ${X}`],
      at: ['command.8'],
    },
    {
      name: 'docker exec with options',
      argv: ['docker', 'exec', '-i', '-u', 'root', '-e', 'A=1', 'web', 'bash', '-c', `ls ${X}`],
      at: ['command.10'],
    },
    // interpreters with inline code
    { name: 'python3 -c', argv: ['python3', '-c', `print("${X}")`], at: ['command.2'] },
    { name: 'python -uc (clustered)', argv: ['python', '-uc', `print("${X}")`], at: ['command.2'] },
    { name: 'python3.11 by path', argv: ['/usr/bin/python3.11', '-c', `print(${X})`], at: ['command.2'] },
    { name: 'node -e', argv: ['node', '-e', `console.log("${X}")`], at: ['command.2'] },
    { name: 'node --eval=', argv: ['node', `--eval=run("${X}")`], at: ['command.1'] },
    { name: 'node -p', argv: ['node', '-p', `"${X}"`], at: ['command.2'] },
    { name: 'perl -lne', argv: ['perl', '-lne', `print if /${X}/`, '/var/log/x'], at: ['command.2'] },
    { name: 'perl -E', argv: ['perl', '-E', `say "${X}"`], at: ['command.2'] },
    { name: 'ruby -e', argv: ['ruby', '-e', `puts "${X}"`], at: ['command.2'] },
    { name: 'php -r', argv: ['php', '-r', `echo "${X}";`], at: ['command.2'] },
    {
      name: 'pwsh -Command',
      argv: ['pwsh', '-NoProfile', '-Command', `Get-Item ${X}`],
      at: ['command.3'],
    },
    {
      name: 'powershell -c joins the words after it',
      argv: ['powershell', '-c', 'Write-Output', X],
      at: ['command.3'],
    },
    { name: 'osascript -e', argv: ['osascript', '-e', `display dialog "${X}"`], at: ['command.2'] },
    {
      name: 'awk program',
      argv: ['awk', '-F', ':', `{ print "${X}" }`, '/etc/passwd'],
      at: ['command.3'],
    },
    { name: 'gawk program after -v', argv: ['gawk', '-v', 'n=1', `/${X}/`, 'f'], at: ['command.3'] },
    { name: 'sed script', argv: ['sed', '-n', `s/${X}/y/p`, '/var/log/x'], at: ['command.2'] },
    {
      name: 'sed -e scripts',
      argv: ['sed', '-e', 's/a/b/', '-e', X, '/var/log/x'],
      at: ['command.4'],
    },
    // commands named by a template
    {
      name: 'find -exec command',
      argv: ['find', '/var/log', '-name', '*.log', '-exec', X, '{}', ';'],
      at: ['command.5'],
    },
    {
      name: 'find -exec sh -c',
      argv: ['find', '.', '-exec', 'sh', '-c', `grep ${X} "$1"`, 'sh', '{}', ';'],
      at: ['command.5'],
    },
    { name: 'the program itself', argv: [X, 'status'], at: ['command.0'] },
    { name: 'the program behind sudo', argv: ['sudo', X], at: ['command.1'] },
    // ssh joins every word after the host into one remote shell line
    {
      name: 'ssh remote command words',
      argv: ['ssh', '-i', 'key', '-p', '2222', 'web1', 'uptime', X],
      at: ['command.7'],
    },
    { name: 'ssh remote line', argv: ['ssh', 'web1', `ls /var/log/${X}`], at: ['command.2'] },
    { name: 'ssh after --', argv: ['ssh', 'web1', 'cat', '--', X, X], at: ['command.4', 'command.5'] },
    {
      name: 'ssh -o ProxyCommand',
      argv: ['ssh', '-o', `ProxyCommand=nc ${X} 22`, 'web1', 'true'],
      at: ['command.2'],
    },
  ])('$name', ({ argv, at }) => {
    expect(refused(argv)).toEqual(at);
  });

  it('names the field and the reader, and applies to run_script actions', () => {
    const issues = errors(action(['env', 'python3', '-c', `print("${X}")`]));
    expect(issues).toMatchObject([
      {
        path: ['remediations', 0, 'action', 'config', 'command', 3],
        severity: 'error',
        message: expect.stringContaining('python3 -c'),
      },
    ]);
  });

  it('says what ssh does with the words after the host', () => {
    const [issue] = errors(diagnostic(['ssh', 'web1', 'tail', X]));
    expect(issue?.message).toMatch(/ssh.*remote shell/);
  });
});

// Guards: these passed before the change too; they keep the new checks from refusing safe idioms.
describe('lint still allows a template that reaches code only as data', () => {
  test.each([
    { name: 'positional idiom', argv: ['sh', '-c', 'echo "$1"', '_', X] },
    { name: 'env VAR=value read by a shell', argv: ['env', `V=${X}`, 'sh', '-c', 'echo "$V"'] },
    { name: 'python argument', argv: ['python3', '-c', 'import sys; print(sys.argv[1])', X] },
    { name: 'node argument', argv: ['node', '-e', 'console.log(process.argv[1])', X] },
    { name: 'kubectl exec, argument of the command', argv: ['kubectl', 'exec', 'p', '--', 'cat', `/x/${X}`] },
    { name: 'docker exec, templated container', argv: ['docker', 'exec', X, 'ps'] },
    { name: 'awk -v value', argv: ['awk', '-v', `name=${X}`, '$1 == name', 'f'] },
    { name: 'sed file operand', argv: ['sed', '-n', '/ERROR/p', `/var/log/${X}.log`] },
    {
      name: 'find -name and -exec arguments',
      argv: ['find', '/l', '-name', X, '-exec', 'grep', 'E', '{}', '+'],
    },
    { name: 'ssh destination', argv: ['ssh', X, 'uptime'] },
    { name: 'timeout duration', argv: ['timeout', X, 'true'] },
    { name: 'kubectl arguments', argv: ['kubectl', 'logs', X, '-n', X] },
  ])('$name', ({ argv }) => {
    expect(refused(argv)).toEqual([]);
  });
});
