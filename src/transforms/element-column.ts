import { typeFamily, type CatalogColumn, type TypeFamily } from '../catalog/catalog-snapshot.ts';

/** The catalog name of the element type of a built-in array type (`_float4` → `float4`), or null. */
function elementTypeName(arrayTypeName: string): string | null {
  return arrayTypeName.startsWith('_') && arrayTypeName.length > 1 ? arrayTypeName.slice(1) : null;
}

/**
 * The element of an array column as a column of its own (`real[]` → `real`), so a transform
 * written for scalars can be checked and rendered on each element. format_type writes one `[]`
 * whatever the number of dimensions. Null for a column that is not an array of a known type.
 */
export function elementColumn(column: CatalogColumn): CatalogColumn | null {
  if (column.family !== 'array' || !column.sqlType.endsWith('[]')) return null;
  const typeName = elementTypeName(column.typeName);
  if (typeName === null) return null;
  const family: TypeFamily = typeFamily(typeName);
  if (family === 'array' || family === 'other') return null;
  return Object.freeze({ ...column, sqlType: column.sqlType.slice(0, -2), typeName, family });
}

/** A synthetic column of one type, for a value that is not a table column (a JSON leaf). */
export function valueColumn(name: string, sqlType: string, typeName: string): CatalogColumn {
  return Object.freeze({ name, position: 0, sqlType, typeName, typeSchema: 'pg_catalog', family: typeFamily(typeName), nullable: true, comment: null });
}
