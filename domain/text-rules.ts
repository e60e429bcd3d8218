import { z } from 'zod';

/**
 * String and object rules that zod checks and the JSON Schema (hence the OpenAPI document) states in the same
 * declaration, so the document is exactly as strict as the validator. Lengths are counted in Unicode code points,
 * as JSON Schema counts them (zod's `.max()` counts UTF-16 units, which differ for emoji).
 */

/**
 * Characters no identifier may hold: control characters (C0 U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F) and the
 * bidirectional formatting characters that can make one id display as another (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069).
 */
export const CONTROL_OR_BIDI = '\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069';
/** Whitespace as JavaScript's `\s` and `trim()` know it, besides the control characters above. */
export const SPACES = ' \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF';

/** Number of code points of a string (what JSON Schema's maxLength counts). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Every character of `value` in `forbidden` (a regex character-class body), as `U+XXXX` for the error message. */
function offending(value: unknown, forbidden: string): string {
  if (typeof value !== 'string') return '';
  const found = value.match(new RegExp(`[${forbidden}]`, 'gu')) ?? [];
  const names = [...new Set(found)].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  return names.length > 0 ? ` (found ${names.slice(0, 3).join(', ')})` : '';
}

/**
 * An identifier (client id, source, ordering key): 1–`max` characters, none of them a control or bidirectional
 * formatting character, not starting or ending with whitespace.
 */
export function identifier(what: string, max = 256) {
  const ok = `[^${CONTROL_OR_BIDI}${SPACES}]`;
  const pattern = new RegExp(`^${ok}(?:[^${CONTROL_OR_BIDI}]{0,${max - 2}}${ok})?$`, 'u');
  return z.string({ error: `${what} must be a string` }).regex(pattern, {
    error: (iss) => identifierProblem(what, max, iss.input as string) ?? `${what} cannot start or end with whitespace`,
  });
}

/**
 * A task id: 1–200 characters, none of them whitespace, "/", "?", "#", a control or a bidirectional formatting
 * character (it is the workflow id and a URL path segment).
 */
export function taskIdentifier(what = 'id', max = 200) {
  const forbidden = `${CONTROL_OR_BIDI}${SPACES}/?#`;
  return z.string({ error: `${what} is required` }).regex(new RegExp(`^[^${forbidden}]{1,${max}}$`, 'u'), {
    error: (iss) =>
      identifierProblem(what, max, iss.input as string) ?? `${what} cannot contain whitespace, "/", "?" or "#"`,
  });
}

/** What is wrong with an identifier that every identifier rule shares: empty, too long, control or bidi characters. */
function identifierProblem(what: string, max: number, v: string): string | undefined {
  if (v === '') return `${what} is required`;
  if (codePoints(v) > max) return `${what} is longer than ${max} characters`;
  if (new RegExp(`[${CONTROL_OR_BIDI}]`, 'u').test(v)) {
    return `${what} cannot contain control or bidirectional formatting characters${offending(v, CONTROL_OR_BIDI)}`;
  }
  return undefined;
}

/** A string of at most `max` code points (JSON Schema maxLength), with `message` when longer. */
export function maxChars(max: number, message: string) {
  return z
    .string()
    .refine((s) => codePoints(s) <= max, message)
    .meta({ maxLength: max });
}

/**
 * Object rule "at most one of `a` and `b`", checked by zod (the issue names `b`) and stated in the JSON Schema as
 * `not: {required: [a, b]}`.
 */
export function notBoth<T extends z.ZodType>(schema: T, a: string, b: string, message: string): T {
  return schema
    .superRefine((value, ctx) => {
      const v = value as Record<string, unknown>;
      if (v[a] !== undefined && v[b] !== undefined) ctx.addIssue({ code: 'custom', path: [b], message });
    })
    .meta({ not: { required: [a, b] } }) as T;
}

/**
 * Object rule "exactly one of `keys`", checked by zod (the issue names the first key) and stated in the JSON Schema
 * as `oneOf` of `required` sets.
 */
export function exactlyOneOf<T extends z.ZodType>(schema: T, keys: readonly string[], message: string): T {
  return schema
    .superRefine((value, ctx) => {
      const v = value as Record<string, unknown>;
      if (keys.filter((k) => v[k] !== undefined).length !== 1) {
        ctx.addIssue({ code: 'custom', path: [keys[0]!], message });
      }
    })
    .meta({ oneOf: keys.map((k) => ({ required: [k] })) }) as T;
}

const octet = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const ipv4 = `${octet}(?:\\.${octet}){3}`;
const h16 = '[0-9A-Fa-f]{1,4}';
const ls32 = `(?:${h16}:${h16}|${ipv4})`;
/** RFC 3986 IPv6address. */
const ipv6 = [
  `(?:${h16}:){6}${ls32}`,
  `::(?:${h16}:){5}${ls32}`,
  `(?:${h16})?::(?:${h16}:){4}${ls32}`,
  `(?:(?:${h16}:){0,1}${h16})?::(?:${h16}:){3}${ls32}`,
  `(?:(?:${h16}:){0,2}${h16})?::(?:${h16}:){2}${ls32}`,
  `(?:(?:${h16}:){0,3}${h16})?::${h16}:${ls32}`,
  `(?:(?:${h16}:){0,4}${h16})?::${ls32}`,
  `(?:(?:${h16}:){0,5}${h16})?::${h16}`,
  `(?:(?:${h16}:){0,6}${h16})?::`,
].join('|');
const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** The last label starts with a letter, so a WHATWG parser never reads the name as an IPv4 number. */
const topLabel = '[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const port = '(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})';
const urlChars = "[A-Za-z0-9\\-._~!$&'()*+,;=:@%/]";

/**
 * An absolute http(s) URL as this service accepts it: scheme, a DNS name (last label starting with a letter), an
 * IPv4 address or a bracketed IPv6 address, an optional port 0–65535, then path, query and fragment of RFC 3986
 * characters. No user info, no spaces. Every URL it admits parses with the WHATWG URL parser.
 */
export const HTTP_URL_PATTERN = new RegExp(
  `^[Hh][Tt][Tt][Pp][Ss]?://(?:(?:${label}\\.)*${topLabel}|${ipv4}|\\[(?:${ipv6})\\])(?::${port})?` +
    `(?:/${urlChars}*)?(?:\\?(?:${urlChars}|\\?)*)?(?:#(?:${urlChars}|\\?|#)*)?$`,
);
