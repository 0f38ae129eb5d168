import { z } from 'zod';
import type { CelType } from './expression-scope.ts';
import type { Mode } from './template-render.ts';

/**
 * What a diagnostic type or an action type is, as pure data: the shape each spec file of
 * `diagnostic-types/` and `action-types/` fills in, and the small pieces they share. The schema,
 * facts, template and lint tables of the engine are built from those specs, never by naming types.
 */

export type Path = (string | number)[];

/** One templated string of a config: where it is, what it holds, and how it renders. */
export interface Field {
  path: Path;
  value: string;
  mode: Mode;
}

/** The values of a string record as fields (e.g. headers, env). */
export function entries(record: Record<string, string> | undefined, path: Path, mode: Mode): Field[] {
  return Object.entries(record ?? {}).map(([k, value]) => ({ path: [...path, k], value, mode }));
}

/** The items of a string list as fields (e.g. argv, SQL params). */
export function list(values: readonly string[] | undefined, path: Path, mode: Mode): Field[] {
  return (values ?? []).map((value, i) => ({ path: [...path, i], value, mode }));
}

/** A non-empty string. One instance, shared by every config schema. */
export const NonEmpty = z.string().min(1);

/** An argv, never a shell string. */
export const Argv = z.array(z.string(), {
  error: 'expected an argv array such as [kubectl, get, pods]; shell strings and pipes are never run',
});

/** One fact a diagnostic type produces: a CEL variable of its `interpret` expressions. */
export interface FactSpec {
  readonly name: string;
  /** `dyn` where the value may be null. */
  readonly type: CelType;
  readonly doc: string;
}

/** What both kinds of step type declare. Methods (not function properties) so that specs widen. */
interface ConfigSpec<T extends string, S extends z.ZodType> {
  /** The `type` literal a runbook writes. */
  readonly type: T;
  /** The config's schema: a typo in a key is an error, never a silent default. */
  readonly configSchema: S;
  /** Which config fields take templates, and for which destination (how each is escaped). */
  templateFields(config: z.output<S>): Field[];
  /** The argv the config runs: lint refuses a template in a word that is read as code (`argvShape`). */
  argv?(config: z.output<S>): { path: Path; argv: readonly string[] } | undefined;
}

/** A diagnostic type: its config, the facts its executor returns, and lint's stand-in config. */
export interface DiagnosticTypeSpec<T extends string = string, S extends z.ZodType = z.ZodType>
  extends ConfigSpec<T, S> {
  /** The facts the executor returns, with their CEL types and meaning. */
  readonly facts: readonly FactSpec[];
  /** A valid config that lint swaps in for one that fails the schema (see runbook-repair.ts). */
  readonly standIn: z.input<S>;
}

/**
 * The safety limits an action type gets when its step sets none, by the risk of the action: a
 * restart changes a system, a message does not (README "Safety defaults by action type").
 */
export interface ActionSafety {
  /** Runs per rolling hour per target when the step sets no `maxPerHour`; null: no hourly budget. */
  readonly maxPerHour: number | null;
  /** One action at a time per target (a second waits until the first is done). */
  readonly lockTarget: boolean;
}

/** What changes a system: 3 an hour per target, one at a time. */
export const CHANGE_SAFETY: ActionSafety = { maxPerHour: 3, lockTarget: true };
/** What only tells people something: no hourly budget, no per-target lock. */
export const MESSAGE_SAFETY: ActionSafety = { maxPerHour: null, lockTarget: false };

/** An action type: its config, whether running it twice changes nothing more, its safety defaults. */
export interface ActionTypeSpec<T extends string = string, S extends z.ZodType = z.ZodType>
  extends ConfigSpec<T, S> {
  /** True when the action may be retried safely (a second run changes nothing more). */
  isIdempotent(config: z.output<S>): boolean;
  /** The limits of a step of this type where the step sets none. */
  readonly safety: ActionSafety;
}

/** A diagnostic type spec, its `type` kept as a literal and its config typed by its schema. */
export function diagnosticType<const T extends string, S extends z.ZodType>(
  spec: DiagnosticTypeSpec<T, S>,
): DiagnosticTypeSpec<T, S> {
  return spec;
}

/** An action type spec, its `type` kept as a literal and its config typed by its schema. */
export function actionType<const T extends string, S extends z.ZodType>(
  spec: ActionTypeSpec<T, S>,
): ActionTypeSpec<T, S> {
  return spec;
}
