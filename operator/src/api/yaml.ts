/**
 * JSON-like data as block-style YAML, deterministic (keys in insertion order), for the generated CRD
 * file. Strings are written plain when YAML would read them back as the same string, otherwise as
 * JSON strings (a JSON string is a valid YAML double-quoted scalar).
 */

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./ -]*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const s = String(value);
  if (PLAIN.test(s) && !RESERVED.test(s) && !s.endsWith(' ') && !s.includes(' -') && !s.includes(': ')) return s;
  return JSON.stringify(s);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function emit(value: unknown, indent: string, lines: string[], prefix: string): void {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      lines.push(`${prefix}[]`);
      return;
    }
    if (prefix) lines.push(prefix.trimEnd());
    for (const item of value) {
      if (isObject(item) && Object.keys(item).length > 0) {
        const [first, ...rest] = Object.entries(item);
        const [k, v] = first as [string, unknown];
        emitEntry(k, v, `${indent}  `, lines, `${indent}- `);
        for (const [rk, rv] of rest) emitEntry(rk, rv, `${indent}  `, lines, `${indent}  `);
      } else {
        emit(item, `${indent}  `, lines, `${indent}- `);
      }
    }
    return;
  }
  if (isObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) {
      lines.push(`${prefix}{}`);
      return;
    }
    if (prefix) lines.push(prefix.trimEnd());
    for (const [k, v] of entries) emitEntry(k, v, indent, lines, indent);
    return;
  }
  lines.push(`${prefix}${scalar(value)}`);
}

function emitEntry(key: string, value: unknown, indent: string, lines: string[], linePrefix: string): void {
  const head = `${linePrefix}${scalar(key)}:`;
  const nested = (isObject(value) && Object.keys(value).length > 0) || (Array.isArray(value) && value.length > 0);
  if (!nested) {
    emit(value, indent, lines, `${head} `);
    return;
  }
  lines.push(head);
  // Sequences under a key are written at the key's own indentation ("- " counts as indentation).
  emit(value, Array.isArray(value) ? indent : `${indent}  `, lines, '');
}

export function toYaml(value: unknown): string {
  const lines: string[] = [];
  emit(value, '', lines, '');
  return `${lines.join('\n')}\n`;
}
