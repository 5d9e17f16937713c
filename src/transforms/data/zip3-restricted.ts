/**
 * ZIP3 areas with 20,000 or fewer people, whose first three digits HIPAA Safe Harbor
 * (45 CFR 164.514(b)(2)(i)(B)) requires to be shown as 000. From the 2000 Census, as
 * published by HHS. Versioned: a policy can pin or replace the list (`zip3: { restricted: […] }`);
 * sql/zip3.sql carries the same list (a test keeps them equal).
 */
export const ZIP3_RESTRICTED_VERSION = 'census-2000';

export const zip3Restricted: readonly string[] = Object.freeze([
  '036', '059', '063', '102', '203', '556', '692', '790', '821', '823', '830', '831', '878', '879', '884', '890', '893',
]);
