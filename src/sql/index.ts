export { sql, ident, literal, param, compile, typeName, operatorName, serverDeparsedSql, textLiteral, jsonbLiteral, byteaLiteral, dollarQuoted, join, trustedSqlText, emptySql, isSql, stableJson } from './sql.ts';
export type { Sql, SqlValue } from './sql.ts';
export { sqlExpression } from './expression.ts';
export { checkRowFilter, type RowFilterProblem } from './row-filter.ts';
