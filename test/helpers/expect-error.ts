import { expect } from 'vitest';
import type { ArgumentError, ArgumentRangeError } from '../../lib/errors.js';

type ErrorClass = typeof ArgumentError | typeof ArgumentRangeError;

/** Runs fn and asserts the error's class, code and field (and that the message names it). */
export function expectError(fn: () => unknown, cls: ErrorClass, code: string, field: string): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(cls);
  expect(caught).toMatchObject({ code, field });
  expect((caught as Error).message.startsWith(`${field}: `)).toBe(true);
  return caught as Error;
}
