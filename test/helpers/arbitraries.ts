// Generators shared by the property tests.
import fc from 'fast-check';

/** Interface names the kernel accepts: 1 to 15 bytes, ASCII or with multi-byte characters. */
export const interfaceName: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-z0-9_-]{1,15}$/),
  fc.array(fc.constantFrom('h', 'x', '7', '-', 'ü', 'é', 'ß', 'ж'), { minLength: 1, maxLength: 7 }).map((cs) => cs.join('')),
);
