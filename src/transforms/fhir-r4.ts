/**
 * Rule sets for FHIR R4 resources held in a jsonb column (`json: { preset: fhir_r4 }`), one per
 * resource type, chosen by the document's resourceType; any other resource type masks to NULL.
 * Every path not listed is removed, so the Safe Harbor identifiers of these resources (names,
 * telecom, street address and city, photos, contacts, free text, extensions) never pass.
 * Identifiers and references are pseudonymized (the same value gives the same token in every
 * resource); dates keep their year only; a birth date of someone 90 or older shows as 90
 * (age, year_only); postal codes go to ZIP3. Coded values (CodeableConcept) are kept whole.
 */
export type PresetRules = Readonly<Record<string, unknown>>;

const year = { generalize_date: { to: 'year' } } as const;
const common: PresetRules = {
  '$.resourceType': 'keep',
  '$.id': 'pseudonymize',
  '$.identifier[*].system': 'keep',
  '$.identifier[*].value': 'pseudonymize',
  '$.meta.profile': 'keep',
};

export const FHIR_R4: Readonly<Record<string, PresetRules>> = {
  Patient: {
    ...common,
    '$.active': 'keep',
    '$.gender': 'keep',
    '$.birthDate': { age: { year_only: true } },
    '$.deceasedBoolean': 'keep',
    '$.deceasedDateTime': year,
    '$.address[*].state': 'keep',
    '$.address[*].country': 'keep',
    '$.address[*].postalCode': 'zip3',
    '$.maritalStatus': 'keep',
    '$.multipleBirthBoolean': 'keep',
    '$.communication[*].language': 'keep',
    '$.generalPractitioner[*].reference': 'pseudonymize',
    '$.managingOrganization.reference': 'pseudonymize',
  },
  Encounter: {
    ...common,
    '$.status': 'keep',
    '$.class': 'keep',
    '$.type': 'keep',
    '$.serviceType': 'keep',
    '$.priority': 'keep',
    '$.subject.reference': 'pseudonymize',
    '$.participant[*].type': 'keep',
    '$.participant[*].individual.reference': 'pseudonymize',
    '$.period.start': year,
    '$.period.end': year,
    '$.length': 'keep',
    '$.reasonCode': 'keep',
    '$.hospitalization.admitSource': 'keep',
    '$.hospitalization.dischargeDisposition': 'keep',
    '$.serviceProvider.reference': 'pseudonymize',
  },
  Observation: {
    ...common,
    '$.status': 'keep',
    '$.category': 'keep',
    '$.code': 'keep',
    '$.subject.reference': 'pseudonymize',
    '$.encounter.reference': 'pseudonymize',
    '$.effectiveDateTime': year,
    '$.effectivePeriod.start': year,
    '$.effectivePeriod.end': year,
    '$.issued': year,
    '$.valueQuantity': 'keep',
    '$.valueCodeableConcept': 'keep',
    '$.valueBoolean': 'keep',
    '$.valueInteger': 'keep',
    '$.interpretation': 'keep',
    '$.referenceRange': 'keep',
    '$.component[*].code': 'keep',
    '$.component[*].valueQuantity': 'keep',
    '$.component[*].valueCodeableConcept': 'keep',
  },
};
