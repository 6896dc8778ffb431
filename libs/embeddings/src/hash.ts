/**
 * Non-cryptographic string hashing used for feature hashing.
 *
 * - FNV-1a, 32-bit, over the UTF-8 bytes of the string. Offset basis 2166136261 (0x811c9dc5) and
 *   prime 16777619 (0x01000193) as published by Fowler, Noll and Vo
 *   (http://www.isthe.com/chongo/tech/comp/fnv/, and IETF draft-eastlake-fnv).
 * - FNV-1a's low bits mix well but its high bits avalanche poorly on short inputs, so the result is
 *   passed through the 32-bit finaliser ("fmix32") of MurmurHash3 by Austin Appleby (public domain;
 *   constants 0x85ebca6b and 0xc2b2ae35, shifts 16/13/16) before it is reduced to an index or a sign.
 *
 * All arithmetic is unsigned 32-bit (`Math.imul` and `>>> 0`), so results are identical on every
 * platform and Node version.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const encoder = new TextEncoder();

/** FNV-1a 32-bit hash of the UTF-8 encoding of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  const bytes = encoder.encode(text);
  let h = FNV_OFFSET_BASIS;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** MurmurHash3 32-bit finaliser: a bijective avalanche mix of a 32-bit integer. */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Salt XOR-ed into the hash before deriving the sign, so index and sign are independent bits. */
const SIGN_SALT = 0x9e3779b9; // 2^32 / golden ratio, the usual "arbitrary odd constant"

/** Well-mixed 32-bit hash of a feature string (FNV-1a then fmix32). */
export function featureHash(feature: string): number {
  return fmix32(fnv1a32(feature));
}

/** Bucket in [0, buckets) and sign ±1 for a feature, as in signed feature hashing. */
export function hashedBucket(feature: string, buckets: number): { index: number; sign: 1 | -1 } {
  const h = fnv1a32(feature);
  const index = fmix32(h) % buckets;
  const sign = (fmix32(h ^ SIGN_SALT) & 1) === 0 ? 1 : -1;
  return { index, sign };
}
