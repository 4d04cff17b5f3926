// One validation mechanism for every public input: API options, topology specs, CLI files.
//
// A schema is declared next to the interface it checks, as `object<Interface>(...)`: the
// compiler then demands exactly one field schema per key of the interface (no missing key, no
// extra key) and a schema whose value type is exactly the key's type, so the documented type
// and the runtime check cannot drift apart. At runtime an object schema refuses every key it
// does not know (ERR_UNKNOWN_OPTION, with the nearest known key as a suggestion), checks every
// value, and returns the input itself: nothing is copied or converted.
//
// Why not a schema library: this is a root-privileged library, so every dependency is attack
// surface, and what is needed is small (objects, arrays, unions by JS type, enums, the kernel's
// own name and number rules from validate.ts). The checks run once per input before any
// syscall; a W(3000) topology is ~20k small objects, checked in a few milliseconds.
import { ArgumentError, ArgumentRangeError } from './errors.js';
import { describeValue, quoteText, validateUint } from './validate.js';

/** Checks a value; returns it unchanged, or throws an ArgumentError / ArgumentRangeError. */
export interface Schema<T> {
  readonly check: (value: unknown, path: string) => T;
  /** How an accepted value reads in an error message: 'a string', 'an integer from 0 to 255'. */
  readonly expected: string;
  /** Type only: makes Schema invariant in T, so Schema<string> is not a Schema<'a' | 'b'>. */
  readonly __type?: (value: T) => T;
}

/** A field that may be left out (or given as undefined). */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

/** The field schemas an object schema needs for interface T: one per key, exactly typed. */
export type Shape<T> = {
  [K in keyof T]-?: undefined extends T[K] ? OptionalSchema<Exclude<T[K], undefined>> : Schema<T[K]>;
};

export interface ObjectSchema<T> extends Schema<T> {
  readonly keys: readonly string[];
}

/** The path of a field inside `path` ('' is the top level). */
export const fieldPath = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

/** A schema from a check function: for values with rules of their own (names, prefixes). */
export function custom<T>(expected: string, check: (value: unknown, path: string) => T): Schema<T> {
  return { check, expected };
}

export function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  return {
    optional: true,
    expected: schema.expected,
    check: (value, path) => (value === undefined ? undefined : schema.check(value, path)),
  };
}

function typeError(path: string, expected: string, value: unknown, code = 'ERR_INVALID_ARG_TYPE'): ArgumentError {
  return new ArgumentError(code, path, `must be ${expected}, received ${describeValue(value)}`);
}

export function string(code?: string): Schema<string> {
  return custom('a string', (value, path) => {
    if (typeof value !== 'string') throw typeError(path, 'a string', value, code);
    return value;
  });
}

export function boolean(): Schema<boolean> {
  return custom('a boolean', (value, path) => {
    if (typeof value !== 'boolean') throw typeError(path, 'a boolean (true or false)', value);
    return value;
  });
}

/** An integer number min..max; strings are refused, never converted. */
export function integer(min: number, max: number, code = 'ERR_INVALID_ARG_VALUE'): Schema<number> {
  return custom(`an integer from ${min} to ${max}`, (value, path) => validateUint(value, path, min, max, code));
}

/** One of a fixed set of values. */
export function oneOf<const V extends readonly (string | number | boolean)[]>(values: V, code = 'ERR_INVALID_ARG_VALUE'): Schema<V[number]> {
  const list = values.map((v) => (typeof v === 'string' ? quoteText(v) : String(v))).join(', ');
  return custom(`one of ${list}`, (value, path) => {
    if (!values.includes(value as V[number])) {
      throw new ArgumentError(code, path, `must be one of ${list}, received ${describeValue(value)}`);
    }
    return value as V[number];
  });
}

export interface ArrayLimits {
  /** Fewest items (default 0). */
  min?: number;
  /** Most items (default: no limit). */
  max?: number;
  code?: string;
}

export function array<T>(item: Schema<T>, limits: ArrayLimits = {}): Schema<T[]> {
  const expected = `an array of ${item.expected.replace(/^an? /, '')}s`;
  return custom(expected, (value, path) => {
    if (!Array.isArray(value)) throw typeError(path, `an array`, value);
    if (limits.min !== undefined && value.length < limits.min) {
      throw new ArgumentRangeError(limits.code ?? 'ERR_INVALID_ARG_VALUE', path, `must have at least ${limits.min} item${limits.min === 1 ? '' : 's'}`);
    }
    if (limits.max !== undefined && value.length > limits.max) {
      throw new ArgumentRangeError(limits.code ?? 'ERR_INVALID_ARG_VALUE', path, `must have at most ${limits.max} items, received ${value.length}`);
    }
    for (let i = 0; i < value.length; i++) item.check(value[i], fieldPath(path, i));
    return value as T[];
  });
}

/** A plain object used as a map: every key checked by `key`, every value by `value`. */
export function record<V>(key: (k: string, path: string) => void, value: Schema<V>): Schema<Record<string, V>> {
  return custom(`an object of ${value.expected.replace(/^an? /, '')}s`, (input, path) => {
    const obj = plainObject(input, path);
    for (const k of Object.keys(obj)) {
      key(k, fieldPath(path, k));
      value.check(obj[k], fieldPath(path, k));
    }
    return obj as Record<string, V>;
  });
}

type JsType = 'string' | 'number' | 'boolean' | 'object' | 'function';

/** The value type a schema checks. */
export type Checked<S> = S extends Schema<infer T> ? T : never;

/** A value whose schema depends on its JS type ('string' | {...}, a name or an index). Each
 *  alternative is tried only for values of its own type, so errors speak of the right one. */
export function byType<A extends Partial<Record<JsType, Schema<any>>>>(alternatives: A): Schema<Checked<A[keyof A]>> {
  const entries = Object.values(alternatives) as Schema<unknown>[];
  const expected = entries.map((s) => s.expected).join(' or ');
  return custom(expected, (value, path) => {
    const t = value === null || Array.isArray(value) ? undefined : (typeof value as JsType);
    const schema = t === undefined ? undefined : (alternatives[t] as Schema<Checked<A[keyof A]>> | undefined);
    if (!schema) throw typeError(path, expected, value);
    return schema.check(value, path);
  });
}

/** Anything: for options passed through to Node, which checks them itself. */
export function passThrough<T>(): Schema<T> {
  return custom('any value', (value) => value as T);
}

/** Optional pass-through fields for option keys another API checks (Node's socket options). */
export function passThroughFields<K extends string>(keys: readonly K[]): Record<K, OptionalSchema<any>> {
  const field = optional(passThrough<any>());
  return Object.fromEntries(keys.map((k) => [k, field])) as Record<K, OptionalSchema<any>>;
}

function plainObject(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError(path === '' ? 'options' : path, 'an object', value);
  }
  return value as Record<string, unknown>;
}

export interface ObjectOptions<T> {
  /** Renamed or commonly confused keys: { gateway: 'via' } turns "unknown option 'gateway'"
   *  into a pointer at the right one. */
  hints?: Readonly<Record<string, string>>;
  /** Checks across fields, after each field passed its own. */
  refine?: (value: T, path: string) => void;
}

/**
 * An object with exactly the keys of T. Give T explicitly: `object<CreateBridgeOptions>('createBridge
 * options', { ... })`. `what` names the object in the unknown-key message.
 */
export function object<T>(what: string, shape: Shape<T>, options: ObjectOptions<T> = {}): ObjectSchema<T> {
  const fields = shape as unknown as Record<string, Schema<unknown>>;
  const keys = Object.keys(fields);
  const allOptional = keys.every((k) => (fields[k] as Partial<OptionalSchema<unknown>>).optional === true);
  return {
    keys,
    expected: 'an object',
    check: (input, path) => {
      const obj = plainObject(input, path);
      let given = 0;
      for (const k of Object.keys(obj)) {
        if (!Object.hasOwn(fields, k)) throw unknownKey(what, path, k, keys, options.hints);
        given++;
      }
      // Options left at their defaults (`{}`, the common case): no field to look at.
      if (given === 0 && allOptional) {
        options.refine?.(obj as T, path);
        return obj as T;
      }
      for (const k of keys) {
        const field = fields[k]!;
        const value = obj[k];
        // Absent optional fields are most fields: no path string is built for them.
        if (value === undefined && (field as Partial<OptionalSchema<unknown>>).optional) continue;
        field.check(value, fieldPath(path, k));
      }
      options.refine?.(obj as T, path);
      return obj as T;
    },
  };
}

function unknownKey(what: string, path: string, key: string, known: readonly string[], hints?: Readonly<Record<string, string>>): ArgumentError {
  const hint = hints && Object.hasOwn(hints, key) ? hints[key] : nearest(key, known);
  const suggestion = hint !== undefined ? `; did you mean ${quoteText(hint)}?` : `; known: ${known.map((k) => quoteText(k)).join(', ')}`;
  return new ArgumentError('ERR_UNKNOWN_OPTION', fieldPath(path, key), `is not an option of ${what}${suggestion}`);
}

/** The known key closest to `key` by edit distance, if it is close enough to be a typo. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Levenshtein distance, with a transposition counted as one edit ('adresses', 'nmae'). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}
