import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A stand-in `kubectl`, because no Kubernetes cluster can run on this machine: an executable
 * script in a temp dir that appends each argv it gets (as one JSON line) to a log, prints a
 * canned Deployment for `get deployment/… -o json` and kubectl's one-line answers otherwise
 * (`deployment.apps/api restarted`, with ` (server dry run)` under `--dry-run=server`), and its
 * context for `config current-context` / `config get-contexts <name>`. Whatever
 * the actions do is read from that log: it is exactly the argv the process received.
 */
export interface KubectlStandIn {
  /** Absolute path of the script (for `connections.kubernetes.kubectl`). */
  path: string;
  /** Every argv received so far, without argv[0], in order. */
  calls(): Promise<string[][]>;
  /** What the next calls answer: `spec.replicas` of the canned Deployment, or a failure. */
  behave(b: Behaviour): Promise<void>;
  /** Removes the temp dir. */
  remove(): Promise<void>;
}

export interface Behaviour {
  replicas?: number;
  /**
   * `kubectl config current-context` prints it (null: "current-context is not set", exit 1);
   * `kubectl config get-contexts <name> -o name` finds only it. Default `stand-in`.
   */
  context?: string | null;
  fail?: { code: number; stderr: string };
}

const SCRIPT = `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls.jsonl'), JSON.stringify(args) + '\\n');
const b = JSON.parse(fs.readFileSync(path.join(__dirname, 'behaviour.json'), 'utf8'));
if (b.fail) {
  process.stderr.write(b.fail.stderr);
  process.exit(b.fail.code);
}
if (args[0] === 'config') {
  const context = b.context === undefined ? 'stand-in' : b.context;
  const wanted = args[1] === 'get-contexts' ? args[2] : context;
  if (wanted === null || wanted !== context) {
    process.stderr.write(wanted === null ? 'error: current-context is not set\\n' : 'error: context ' + wanted + ' not found\\n');
    process.exit(1);
  }
  process.stdout.write(context + '\\n');
  process.exit(0);
}
const resource = args.find((a) => a.startsWith('deployment/')) || '';
const name = resource.slice('deployment/'.length);
const ns = args[args.indexOf('-n') + 1];
const dry = args.includes('--dry-run=server') ? ' (server dry run)' : '';
if (args[0] === 'get') {
  process.stdout.write(JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: { replicas: b.replicas },
  }));
} else {
  const verb = { restart: 'restarted', undo: 'rolled back' }[args[1]] || 'scaled';
  process.stdout.write('deployment.apps/' + name + ' ' + verb + dry + '\\n');
}
`;

/** Writes the stand-in into a fresh temp dir; `remove()` it in afterEach. */
export async function createKubectlStandIn(initial: Behaviour = { replicas: 3 }): Promise<KubectlStandIn> {
  const dir = await mkdtemp(join(tmpdir(), 'fireline-kubectl-'));
  const path = join(dir, 'kubectl');
  await writeFile(path, SCRIPT);
  await chmod(path, 0o755);
  const behave = (b: Behaviour) => writeFile(join(dir, 'behaviour.json'), JSON.stringify(b));
  await behave(initial);
  return {
    path,
    async calls() {
      let text: string;
      try {
        text = await readFile(join(dir, 'calls.jsonl'), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as string[]);
    },
    behave,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
