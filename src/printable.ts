/**
 * Text from outside (file names, labels) made safe to print on a terminal: control characters
 * (escape sequences could recolour or rewrite the screen) are shown as \xNN.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
  return text.replace(/[\x00-\x1f\x7f\x9b]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
