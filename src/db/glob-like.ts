/**
 * A glob as a LIKE pattern escaped by `!` (not a backslash, whose meaning in a string literal
 * depends on the server's sql_mode): LIKE's own wildcards and `!` are taken literally.
 */
export function globToLike(glob: string): string {
  return glob
    .replace(/[!%_]/g, (c) => `!${c}`)
    .replace(/\*/g, '%')
    .replace(/\?/g, '_');
}
