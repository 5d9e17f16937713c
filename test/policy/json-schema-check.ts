/**
 * A tiny JSON Schema (2020-12) checker for the keywords pgmask's policy schema
 * uses; it throws on any other keyword, so a schema it does not understand can
 * never pass by accident. Test support only (no validator package is installed).
 */
type Schema = Record<string, unknown> | boolean;

const ANNOTATIONS = new Set(['$schema', 'title', 'description', 'default', '$comment', 'examples']);

export function schemaErrors(schema: Schema, value: unknown, path = '$', root: Schema = schema): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value allowed`];
  const errors: string[] = [];
  for (const [keyword, arg] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue;
    switch (keyword) {
      case 'type': {
        const types = Array.isArray(arg) ? (arg as string[]) : [arg as string];
        if (!types.some((t) => hasType(value, t))) errors.push(`${path}: expected ${types.join('|')}`);
        break;
      }
      case 'const':
        if (JSON.stringify(value) !== JSON.stringify(arg)) errors.push(`${path}: expected ${JSON.stringify(arg)}`);
        break;
      case 'enum':
        if (!(arg as unknown[]).some((v) => JSON.stringify(v) === JSON.stringify(value))) errors.push(`${path}: not one of ${JSON.stringify(arg)}`);
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(arg as string, 'u').test(value)) errors.push(`${path}: does not match ${String(arg)}`);
        break;
      case 'minLength':
        if (typeof value === 'string' && [...value].length < (arg as number)) errors.push(`${path}: shorter than ${String(arg)}`);
        break;
      case 'maxLength':
        if (typeof value === 'string' && [...value].length > (arg as number)) errors.push(`${path}: longer than ${String(arg)}`);
        break;
      case 'minimum':
        if (typeof value === 'number' && value < (arg as number)) errors.push(`${path}: below ${String(arg)}`);
        break;
      case 'maximum':
        if (typeof value === 'number' && value > (arg as number)) errors.push(`${path}: above ${String(arg)}`);
        break;
      case 'exclusiveMinimum':
        if (typeof value === 'number' && value <= (arg as number)) errors.push(`${path}: not above ${String(arg)}`);
        break;
      case 'exclusiveMaximum':
        if (typeof value === 'number' && value >= (arg as number)) errors.push(`${path}: not below ${String(arg)}`);
        break;
      case 'minItems':
        if (Array.isArray(value) && value.length < (arg as number)) errors.push(`${path}: fewer than ${String(arg)} items`);
        break;
      case 'maxItems':
        if (Array.isArray(value) && value.length > (arg as number)) errors.push(`${path}: more than ${String(arg)} items`);
        break;
      case 'items':
        if (Array.isArray(value)) value.forEach((v, i) => errors.push(...schemaErrors(arg as Schema, v, `${path}[${i}]`, root)));
        break;
      case 'required':
        if (isObject(value)) for (const k of arg as string[]) if (!(k in value)) errors.push(`${path}: missing ${k}`);
        break;
      case 'properties':
        if (isObject(value)) {
          for (const [k, sub] of Object.entries(arg as Record<string, Schema>)) {
            if (k in value) errors.push(...schemaErrors(sub, value[k], `${path}.${k}`, root));
          }
        }
        break;
      case 'propertyNames':
        if (isObject(value)) for (const k of Object.keys(value)) errors.push(...schemaErrors(arg as Schema, k, `${path}{${k}}`, root));
        break;
      case 'additionalProperties':
        if (isObject(value)) {
          const declared = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
          for (const [k, v] of Object.entries(value)) {
            if (!declared.includes(k)) errors.push(...schemaErrors(arg as Schema, v, `${path}.${k}`, root));
          }
        }
        break;
      case 'anyOf': {
        const branches = (arg as Schema[]).map((s) => schemaErrors(s, value, path, root));
        if (!branches.some((b) => b.length === 0)) errors.push(`${path}: matches no alternative (${branches.map((b) => b[0]).join(' / ')})`);
        break;
      }
      case 'oneOf': {
        const ok = (arg as Schema[]).filter((s) => schemaErrors(s, value, path, root).length === 0).length;
        if (ok !== 1) errors.push(`${path}: matches ${ok} alternatives, not one`);
        break;
      }
      case 'allOf':
        for (const s of arg as Schema[]) errors.push(...schemaErrors(s, value, path, root));
        break;
      case '$ref': {
        const ref = arg as string;
        if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
        const target = ref
          .slice(2)
          .split('/')
          .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')], root);
        errors.push(...schemaErrors(target as Schema, value, path, root));
        break;
      }
      case '$defs':
        break;
      default:
        throw new Error(`json-schema-check: unsupported keyword ${keyword} at ${path}`);
    }
  }
  return errors;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      throw new Error(`json-schema-check: unknown type ${type}`);
  }
}
