// Version 4 UUIDs (RFC 9562) as flat strings: idempotency keys from the CSPRNG, and {{uuid}} in a
// template from the generator's seeded PRNG (so that a seeded run repeats its bodies), both written
// by uuidOf.
// randomUUID() joins its 36 characters piece by piece, and the string it returns is a tree of those
// pieces that holds about 490 bytes of heap; a run keeps one key per request in its samples, so the
// keys were half of what a sample kept, and the garbage collector copied and marked them all. A
// flat string is 64 bytes, and cheaper to make.
import { randomFillSync } from 'node:crypto';

/** The two ASCII hex digits of each byte value. */
const HEX = new Uint8Array(512);
for (let byte = 0; byte < 256; byte++) {
  const digits = byte.toString(16).padStart(2, '0');
  HEX[2 * byte] = digits.charCodeAt(0);
  HEX[2 * byte + 1] = digits.charCodeAt(1);
}

/** The UUID being written: 8-4-4-4-12 hex digits. */
const text = Buffer.alloc(36, 0x2d);

/** The UUID of bytes[at, at + 16), its version (4) and variant (10) bits set (RFC 9562, section 5.4). */
export function uuidOf(bytes: Uint8Array, at: number): string {
  let to = 0;
  for (let i = 0; i < 16; i++) {
    // Dashes after bytes 4, 6, 8 and 10 (they stay in `text`).
    if (i === 4 || i === 6 || i === 8 || i === 10) to++;
    const byte = bytes[at + i] as number;
    const digits = (i === 6 ? (byte & 0x0f) | 0x40 : i === 8 ? (byte & 0x3f) | 0x80 : byte) * 2;
    text[to++] = HEX[digits] as number;
    text[to++] = HEX[digits + 1] as number;
  }
  return text.toString('latin1');
}

/** Random bytes for 256 keys, drawn at once from the CSPRNG (randomUUID() buffers 128 keys' worth). */
const entropy = Buffer.allocUnsafe(16 * 256);
let used = entropy.length;

/** A new random UUID, such as 0b9f3c4e-5d1a-4c2b-9e8f-7a6b5c4d3e2f: an idempotency key. */
export function idempotencyKey(): string {
  if (used === entropy.length) {
    randomFillSync(entropy);
    used = 0;
  }
  used += 16;
  return uuidOf(entropy, used - 16);
}
