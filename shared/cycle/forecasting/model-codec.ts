/**
 * Fitted forecast models are plain data with typed arrays and the odd NaN; JSON keeps neither. This
 * turns them into JSON-safe values and back, exactly: Float64Array and Uint8Array as base64 of their
 * bytes (NaN and all), non-finite numbers as tagged strings.
 */

type Encoded = null | boolean | string | number | Encoded[] | { [key: string]: Encoded };

const TAG_F64 = '$f64';
const TAG_U8 = '$u8';
const TAG_NUM = '$num';

export function encodeModel(value: unknown): Encoded {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { [TAG_NUM]: String(value) };
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Float64Array) {
    return { [TAG_F64]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (value instanceof Uint8Array) return { [TAG_U8]: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(encodeModel);
  if (typeof value === 'object') {
    const out: Record<string, Encoded> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = encodeModel(v);
    return out;
  }
  throw new TypeError(`cannot encode a ${typeof value} in a forecast model`);
}

export function decodeModel<T>(value: unknown): T {
  return decode(value) as T;
}

function decode(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decode);
  const o = value as Record<string, unknown>;
  if (typeof o[TAG_F64] === 'string') {
    const bytes = Buffer.from(o[TAG_F64] as string, 'base64');
    // Copied into a fresh buffer: the decoded bytes need not be 8-byte aligned.
    const out = new Float64Array(bytes.byteLength / 8);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  if (typeof o[TAG_U8] === 'string') return new Uint8Array(Buffer.from(o[TAG_U8] as string, 'base64'));
  if (typeof o[TAG_NUM] === 'string') return Number(o[TAG_NUM]);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = decode(v);
  return out;
}
