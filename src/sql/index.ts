export { sql, ident, literal, jsonbLiteral, byteaLiteral, dollarQuoted, join, trustedSqlText, emptySql, isSql, stableJson } from './sql.ts';
export type { Sql, SqlValue } from './sql.ts';
export { expressionProblem, sqlExpression } from './expression.ts';
