/**
 * Clinical pools for the synthetic data: departments with their usual reasons
 * for a visit, and laboratory/vital-sign codes (LOINC) with units and the
 * distribution of values a hospital population shows.
 */
export type StayKind = 'outpatient' | 'emergency' | 'inpatient';

export interface Department {
  readonly name: string;
  readonly weight: number;
  readonly stay: StayKind;
  readonly reasons: readonly string[];
}

export const departments: readonly Department[] = [
  { name: 'Emergency', weight: 18, stay: 'emergency', reasons: ['chest pain', 'shortness of breath', 'abdominal pain', 'fall', 'syncope', 'laceration', 'fever', 'headache', 'motor vehicle collision', 'allergic reaction'] },
  { name: 'Primary Care', weight: 22, stay: 'outpatient', reasons: ['annual physical', 'hypertension follow-up', 'diabetes follow-up', 'medication refill', 'upper respiratory infection', 'back pain', 'vaccination', 'lipid screening'] },
  { name: 'Internal Medicine', weight: 12, stay: 'inpatient', reasons: ['pneumonia', 'cellulitis', 'urinary tract infection', 'sepsis', 'COPD exacerbation', 'dehydration', 'anemia'] },
  { name: 'Cardiology', weight: 9, stay: 'inpatient', reasons: ['atrial fibrillation', 'heart failure exacerbation', 'NSTEMI', 'chest pain evaluation', 'syncope work-up', 'pacemaker check'] },
  { name: 'Oncology', weight: 6, stay: 'outpatient', reasons: ['chemotherapy cycle', 'neutropenic fever', 'staging review', 'port placement', 'survivorship visit'] },
  { name: 'Pediatrics', weight: 5, stay: 'outpatient', reasons: ['well-child visit', 'otitis media', 'asthma', 'bronchiolitis', 'immunizations', 'gastroenteritis'] },
  { name: 'Obstetrics', weight: 4, stay: 'inpatient', reasons: ['prenatal visit', 'labor and delivery', 'pre-eclampsia monitoring', 'postpartum check'] },
  { name: 'Orthopedics', weight: 6, stay: 'inpatient', reasons: ['hip fracture', 'knee replacement', 'ankle sprain', 'rotator cuff tear', 'lumbar stenosis'] },
  { name: 'Neurology', weight: 5, stay: 'inpatient', reasons: ['stroke', 'transient ischemic attack', 'seizure', 'migraine', 'multiple sclerosis follow-up'] },
  { name: 'Surgery', weight: 6, stay: 'inpatient', reasons: ['appendicitis', 'cholecystectomy', 'hernia repair', 'bowel obstruction', 'wound check'] },
  { name: 'Psychiatry', weight: 4, stay: 'outpatient', reasons: ['depression', 'anxiety', 'bipolar disorder follow-up', 'substance use', 'medication management'] },
  { name: 'Nephrology', weight: 3, stay: 'outpatient', reasons: ['chronic kidney disease', 'dialysis access', 'acute kidney injury follow-up', 'hyperkalemia'] },
];

export type LabDistribution = 'normal' | 'lognormal';

export interface LabCode {
  readonly loinc: string;
  readonly name: string;
  readonly unit: string;
  readonly weight: number;
  readonly distribution: LabDistribution;
  /** mean and standard deviation (of the value for normal, of ln(value) for lognormal) */
  readonly mean: number;
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly decimals: number;
}

export const labCodes: readonly LabCode[] = [
  { loinc: '8480-6', name: 'Systolic blood pressure', unit: 'mm[Hg]', weight: 12, distribution: 'normal', mean: 128, sd: 18, min: 70, max: 230, decimals: 0 },
  { loinc: '8462-4', name: 'Diastolic blood pressure', unit: 'mm[Hg]', weight: 12, distribution: 'normal', mean: 78, sd: 11, min: 40, max: 140, decimals: 0 },
  { loinc: '8867-4', name: 'Heart rate', unit: '/min', weight: 12, distribution: 'normal', mean: 78, sd: 14, min: 35, max: 190, decimals: 0 },
  { loinc: '8310-5', name: 'Body temperature', unit: 'Cel', weight: 8, distribution: 'normal', mean: 36.9, sd: 0.5, min: 34.5, max: 41.5, decimals: 1 },
  { loinc: '59408-5', name: 'Oxygen saturation (pulse oximetry)', unit: '%', weight: 8, distribution: 'normal', mean: 96.5, sd: 2.2, min: 70, max: 100, decimals: 0 },
  { loinc: '29463-7', name: 'Body weight', unit: 'kg', weight: 6, distribution: 'normal', mean: 80, sd: 18, min: 2, max: 250, decimals: 1 },
  { loinc: '2345-7', name: 'Glucose [Mass/volume] in Serum or Plasma', unit: 'mg/dL', weight: 7, distribution: 'lognormal', mean: Math.log(105), sd: 0.28, min: 30, max: 900, decimals: 0 },
  { loinc: '2160-0', name: 'Creatinine [Mass/volume] in Serum or Plasma', unit: 'mg/dL', weight: 6, distribution: 'lognormal', mean: Math.log(0.95), sd: 0.35, min: 0.2, max: 15, decimals: 2 },
  { loinc: '718-7', name: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/dL', weight: 6, distribution: 'normal', mean: 13.4, sd: 1.9, min: 4, max: 21, decimals: 1 },
  { loinc: '6690-2', name: 'Leukocytes [#/volume] in Blood', unit: '10*3/uL', weight: 5, distribution: 'lognormal', mean: Math.log(7.3), sd: 0.32, min: 0.5, max: 60, decimals: 1 },
  { loinc: '777-3', name: 'Platelets [#/volume] in Blood', unit: '10*3/uL', weight: 5, distribution: 'normal', mean: 250, sd: 70, min: 10, max: 900, decimals: 0 },
  { loinc: '2951-2', name: 'Sodium [Moles/volume] in Serum or Plasma', unit: 'mmol/L', weight: 5, distribution: 'normal', mean: 139, sd: 3.2, min: 115, max: 165, decimals: 0 },
  { loinc: '2823-3', name: 'Potassium [Moles/volume] in Serum or Plasma', unit: 'mmol/L', weight: 5, distribution: 'normal', mean: 4.2, sd: 0.5, min: 2.2, max: 7.5, decimals: 1 },
  { loinc: '4548-4', name: 'Hemoglobin A1c/Hemoglobin.total in Blood', unit: '%', weight: 3, distribution: 'lognormal', mean: Math.log(6.0), sd: 0.18, min: 4, max: 16, decimals: 1 },
  { loinc: '2093-3', name: 'Cholesterol [Mass/volume] in Serum or Plasma', unit: 'mg/dL', weight: 3, distribution: 'normal', mean: 190, sd: 40, min: 80, max: 400, decimals: 0 },
  { loinc: '1742-6', name: 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma', unit: 'U/L', weight: 3, distribution: 'lognormal', mean: Math.log(24), sd: 0.5, min: 5, max: 2000, decimals: 0 },
];

export const clinicianTitles: readonly string[] = ['Dr.', 'Dr.', 'Dr.', 'NP', 'PA-C', 'RN'];

/** Sentences a note adds after its header; `{name}` is the patient's name. */
export const noteFindings: readonly string[] = [
  'Vital signs stable, afebrile.',
  'Denies chest pain, palpitations or dyspnea.',
  'Lungs clear to auscultation bilaterally.',
  'Mild tenderness in the right lower quadrant, no rebound.',
  '{name} reports good adherence to medications.',
  '{name} states the pain is 6/10, worse at night.',
  'Labs reviewed; creatinine slightly above baseline.',
  'ECG shows normal sinus rhythm, no acute ST changes.',
  'Wound clean, dry and intact; no signs of infection.',
  'Daughter at bedside, updated on plan of care.',
  'Patient lives alone; social work consulted for discharge planning.',
  'Allergies: penicillin (rash). NKDA otherwise.',
  'Blood glucose poorly controlled; insulin regimen adjusted.',
  'Imaging: no acute fracture, degenerative changes noted.',
  'Tolerating a regular diet. Ambulating with a walker.',
];

export const notePlans: readonly string[] = [
  'continue current medications',
  'repeat basic metabolic panel in the morning',
  'start lisinopril 10 mg daily',
  'physical therapy evaluation',
  'discharge home with outpatient follow-up',
  'cardiology consult',
  'titrate metformin to 1000 mg twice daily',
  'return precautions reviewed',
];
