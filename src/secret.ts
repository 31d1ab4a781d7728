import { inspect } from 'node:util';

/**
 * A value that must never be printed. It renders as "***" through String(), JSON.stringify,
 * console.log and util.inspect, so a config object can be logged or serialized without leaking
 * the password; only `reveal()` hands out the real value (to the database driver).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return this.#value ? '***' : '';
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return `Secret(${this.toString() || 'empty'})`;
  }
}

/** Replaces every occurrence of each secret in `text`; for driver messages we did not write. */
export function redact(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const s of secrets) {
    const v = s.reveal();
    if (v.length >= 3) out = out.split(v).join('***');
    const enc = encodeURIComponent(v);
    if (enc !== v && enc.length >= 3) out = out.split(enc).join('***');
  }
  return out;
}
