import { describe, expect, it } from 'vitest';
import { classifyColumn, type ColumnEvidence } from '../../src/scan/classify.ts';
import { tokenizeName } from '../../src/scan/tokenize-name.ts';
import { isCardNumber, isDateText, isEmail, isIban, isIpAddress, isNpi, isPersonName, isPhone, isPostalCode, isProse, isSsn, isUrl, isVin } from '../../src/scan/value-validators.ts';

function evidence(over: Partial<ColumnEvidence> & { column: string }): ColumnEvidence {
  return { table: 't', family: 'text', typeName: 'text', comment: null, primaryKey: false, references: null, subjectKey: null, samples: null, ...over };
}

const classify = (over: Partial<ColumnEvidence> & { column: string }) => classifyColumn(evidence(over));

describe('tokenizeName', () => {
  it('splits snake, camel and Pascal case, digits, accents and connecting words', () => {
    expect(tokenizeName('PatientFirstName')).toEqual(['patient', 'first', 'name']);
    expect(tokenizeName('pt_fname')).toEqual(['pt', 'fname']);
    expect(tokenizeName('fecha_de_nacimiento')).toEqual(['fecha', 'nacimiento']);
    expect(tokenizeName('Prénom')).toEqual(['prenom']);
    expect(tokenizeName('Straße')).toEqual(['strasse']);
    expect(tokenizeName('address1')).toEqual(['address', '1']);
    expect(tokenizeName('HTTPReferrerURL')).toEqual(['http', 'referrer', 'url']);
  });
});

describe('value validators', () => {
  it('SSN: shape and never-issued areas', () => {
    expect(isSsn('123-45-6789')).toBe(true);
    expect(isSsn('000-12-3456')).toBe(false);
    expect(isSsn('666-12-3456')).toBe(false);
    expect(isSsn('912-12-3456')).toBe(false);
    expect(isSsn('123-00-3456')).toBe(false);
  });
  it('NPI: Luhn over 80840 + the ten digits', () => {
    expect(isNpi('1234567893')).toBe(true); // the CMS example NPI
    expect(isNpi('1234567890')).toBe(false);
    expect(isNpi('3234567893')).toBe(false);
  });
  it('VIN check digit, IBAN mod 97, card Luhn', () => {
    expect(isVin('1M8GDM9AXKP042788')).toBe(true);
    expect(isVin('1M8GDM9A1KP042788')).toBe(false);
    expect(isIban('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(isIban('DE89 3704 0044 0532 0130 01')).toBe(false);
    expect(isCardNumber('4111 1111 1111 1111')).toBe(true);
    expect(isCardNumber('4111 1111 1111 1112')).toBe(false);
  });
  it('email, phone, IP, URL, postcode, dates', () => {
    expect(isEmail("o'brien.k@mail.example.org")).toBe(true);
    expect(isEmail('not an email@')).toBe(false);
    expect(isPhone('(617) 555-0123')).toBe(true);
    expect(isPhone('+49 30 1234567')).toBe(true);
    expect(isPhone('12345')).toBe(false);
    expect(isPhone('2024-01-31')).toBe(false);
    expect(isPhone('123-45-6789')).toBe(false);
    expect(isIpAddress('10.0.0.1')).toBe(true);
    expect(isIpAddress('2001:db8::1')).toBe(true);
    expect(isIpAddress('10.0.0.256')).toBe(false);
    expect(isUrl('https://portal.example.org/x?y=1')).toBe(true);
    expect(isUrl('portal')).toBe(false);
    expect(isPostalCode('02115-1234')).toBe(true);
    expect(isPostalCode('SW1A 1AA')).toBe(true);
    expect(isPostalCode('K1A 0B1')).toBe(true);
    expect(isDateText('03/14/1957')).toBe(true);
    expect(isDateText('14.03.1957')).toBe(true);
    expect(isDateText('2024-02-30')).toBe(true); // shape only: Date.parse rolls over, still a date-like value
    expect(isDateText('35/35/2020')).toBe(false);
  });
  it('person names against the dictionary; prose against user agents', () => {
    expect(isPersonName('María García')).toBe(true);
    expect(isPersonName('Jürgen Müller')).toBe(true);
    expect(isPersonName('Metformin 500 mg')).toBe(false);
    expect(isProse('Patient seen today for follow-up of hypertension, doing well on current therapy.')).toBe(true);
    expect(isProse('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)')).toBe(false);
  });
});

describe('classifyColumn', () => {
  it('reads names in four languages and their abbreviations', () => {
    const cases: [string, string][] = [
      ['nachname', 'name'], ['vorname', 'name'], ['prenom', 'name'], ['apellido', 'name'], ['pt_fname', 'name'],
      ['geb_dat', 'date'], ['fecha_nacimiento', 'date'], ['date_naissance', 'date'], ['dob', 'date'],
      ['plz', 'geography'], ['code_postal', 'geography'], ['codigo_postal', 'geography'], ['strasse', 'geography'], ['direccion', 'geography'],
      ['telefon', 'phone'], ['tel', 'phone'], ['telefono', 'phone'], ['courriel', 'email'], ['correo', 'email'],
      ['mrn', 'mrn'], ['ssn', 'ssn'], ['npi', 'license_number'], ['hic_num', 'health_plan_id'], ['ins_id', 'health_plan_id'],
      ['familienstand', 'marital_status'], ['estado_civil', 'marital_status'], ['sexe', 'sex'], ['muttersprache', 'language'],
    ];
    for (const [column, category] of cases) expect(classify({ column }).category, column).toBe(category);
  });

  it('reads the abbreviations of other widely used schemas (Epic Clarity, Synthea, FHIR flattenings)', () => {
    const cases: [string, string][] = [
      ['PAT_MRN_ID', 'mrn'], ['PAT_FIRST_NAME', 'name'], ['ADD_LINE_1', 'geography'], ['ETHNIC_GROUP_C', 'ethnicity'], ['HSP_ACCOUNT_ID', 'account_number'],
      ['MEM_NUMBER', 'health_plan_id'], ['SUBSCR_NUM', 'health_plan_id'], ['subscriber_name', 'name'], ['DRIVERS_LIC_NUM', 'license_number'], ['DRIVERS', 'license_number'],
      ['MAIDEN', 'name'], ['FIPS', 'geography'], ['address_postalCode', 'geography'], ['name_given', 'name'], ['telecom', 'phone'], ['identifier_value', 'other_unique_id'],
    ];
    for (const [column, category] of cases) expect(classify({ column }).category, column).toBe(category);
  });

  it('lets a longer phrase win over a word inside it', () => {
    expect(classify({ column: 'email_address' }).category).toBe('email');
    expect(classify({ column: 'direccion_ip' }).category).toBe('ip_address');
    expect(classify({ column: 'drug_name' }).category).not.toBe('name');
    expect(classify({ column: 'nombre_prueba' }).category).not.toBe('name');
  });

  it('does not call a boolean, a type column or a gestational age an identifier', () => {
    expect(classify({ column: 'email_verified', family: 'boolean', typeName: 'bool' }).category).toBe('other');
    expect(classify({ column: 'phone_type' }).category).not.toBe('phone');
    expect(classify({ column: 'gestational_age', family: 'integer', typeName: 'int4' }).category).toBe('clinical');
    expect(classify({ column: 'age', family: 'integer', typeName: 'int4' }).category).toBe('age_over_89');
  });

  it('uses a key found by subject detection and foreign keys', () => {
    const subject = classify({ column: 'pid_x', family: 'integer', subjectKey: { confidence: 0.96, reason: 'foreign key to patients.id' } });
    expect(subject).toMatchObject({ category: 'subject_key' });
    expect(subject.reasons).toContain('foreign key to patients.id');
    expect(classify({ column: 'encounter_ref', family: 'integer', references: { table: 'encounters', column: 'id' } }).category).toBe('other_unique_id');
    expect(classify({ column: 'unit_ref', family: 'integer', references: { table: 'concept', column: 'concept_id' } }).category).toBe('clinical');
  });

  it('finds identifiers by their values when the name says nothing', () => {
    const ssns = Array.from({ length: 40 }, (_, i) => `${String(100 + i).padStart(3, '0')}-${String(10 + i).padStart(2, '0')}-${String(1000 + i * 7)}`);
    expect(classify({ column: 'x1', samples: ssns }).category).toBe('ssn');
    const emails = Array.from({ length: 40 }, (_, i) => `user${i}@example.org`);
    expect(classify({ column: 'x2', samples: emails }).category).toBe('email');
    const names = Array.from({ length: 40 }, (_, i) => ['Maria Garcia', 'John Smith', 'Zoltan Kiss', 'Anna Schmidt'][i % 4]!);
    expect(classify({ column: 'preleveur', samples: names }).category).toBe('name');
    const notes = Array.from({ length: 20 }, (_, i) => `Patient returns on 03/0${(i % 9) + 1}/2024 with cough and fever for three days, no dyspnea.`);
    const note = classify({ column: 'x3', samples: notes });
    expect(note.category).toBe('free_text');
    expect(note.reasons.join(' ')).toContain('contain dates');
  });

  it('weakens a name whose values contradict it', () => {
    const codes = Array.from({ length: 30 }, (_, i) => ['home', 'work', 'mobile'][i % 3]!);
    const c = classify({ column: 'phone', samples: codes });
    expect(c.reasons.join(' ')).toContain('look like phone');
    expect(c.confidence).toBeLessThan(0.6);
  });

  it('reads the column comment', () => {
    expect(classify({ column: 'legacy_ref', comment: "the patient's social security number" }).category).toBe('ssn');
  });

  it('treats a vocabulary table as not about a person', () => {
    const c = classify({ table: 'concept', column: 'valid_start_date', family: 'date', typeName: 'date' });
    expect(c.category).not.toBe('date');
  });

  it('is pure: the same evidence gives the same answer', () => {
    const e = evidence({ column: 'geburtsdatum', family: 'date', typeName: 'date', samples: ['1950-01-02', '1960-03-04', '1970-05-06', '1980-07-08', '1990-09-10'] });
    expect(classifyColumn(e)).toEqual(classifyColumn(e));
  });
});
