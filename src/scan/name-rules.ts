import type { Category } from './category.ts';

/**
 * What column names (and comments) say, as data. Each rule lists word
 * sequences as clinical schemas write them in English, German, French and
 * Spanish (accent-free, see tokenizeName): `first name` matches the tokens
 * `first`,`name` in a row and also the single token `firstname`; `*datum`
 * matches a token ending in `datum` (German compounds such as `aufnahmedatum`),
 * `telefon*` one starting with `telefon`.
 *
 * When two rules of different categories match and one match lies inside the
 * other (`email address` vs `address`), only the longer one counts; so a rule
 * list stays a flat table instead of growing exceptions.
 */
export interface NameRule {
  readonly category: Category;
  readonly words: readonly string[];
  /** evidence strength, 0..1 */
  readonly weight: number;
  /** what the reason says, e.g. `person name` */
  readonly what: string;
  /** the rule does not fire when the name also has one of these tokens */
  readonly unless?: readonly string[];
  /** the rule fires only for these type families (otherwise: the category's families) */
  readonly families?: readonly string[];
}

/** Nouns that make a `name` the name of a thing, not of a person (`drug_name`, `nom_examen`). */
const thingNouns = [
  'drug', 'medication', 'med', 'medikament', 'medicament', 'medicamento', 'farmaco', 'test', 'analyte', 'analysis', 'analyse',
  'analisis', 'examen', 'exam', 'panel', 'assay', 'product', 'produkt', 'produit', 'producto', 'file', 'document', 'concept',
  'vocabulary', 'domain', 'relationship', 'facility', 'site', 'care', 'department', 'dept', 'abteilung', 'service', 'servicio',
  'unit', 'station', 'ward', 'hospital', 'clinic', 'klinik', 'clinique', 'lab', 'labor', 'laboratoire', 'laboratorio', 'device',
  'instrument', 'geraet', 'appareil', 'equipo', 'organism', 'specimen', 'probe', 'echantillon', 'muestra', 'vaccine', 'impfstoff',
  'vaccin', 'vacuna', 'procedure', 'procedimiento', 'insurer', 'insurance', 'payer', 'plan', 'company', 'organization',
  'organisation', 'org', 'institution', 'kit', 'reagent', 'reagenz', 'reactif', 'reactivo', 'table', 'schema', 'column', 'field',
  'host', 'server', 'city', 'street', 'country', 'state', 'region', 'brand', 'manufacturer', 'hersteller', 'fabricant', 'fabricante',
  'method', 'methode', 'metodo', 'einheit', 'unite', 'unidad', 'display', 'source', 'type', 'category', 'class', 'group', 'role',
  'team', 'program', 'study', 'protocol', 'trial', 'form', 'question', 'item', 'measurement', 'observation', 'condition',
  'diagnosis', 'icd', 'loinc', 'snomed', 'location', 'parameter', 'component', 'report', 'result', 'order', 'visit', 'event',
  'allergen', 'substance', 'ingredient', 'generic', 'trade', 'short', 'long', 'abbreviation', 'dose', 'material', 'test',
  'pruefung', 'prueba', 'tipo', 'typ', 'art', 'cohort', 'definition', 'metadata', 'antibiotic', 'organisms', 'ort', 'stadt', 'ville', 'ciudad', 'rue', 'calle', 'strasse', 'pays', 'pais', 'land',
];

/** Nouns that make a number or id something else than an identifier of a record. */
const vocabularyNouns = ['definition', 'value', 'valor', 'wert', 'valeur', 'amount', 'quantity', 'qty', 'dose', 'concept', 'vocabulary', 'domain', 'type', 'typ', 'tipo', 'class', 'status', 'unit', 'units', 'einheit', 'unite', 'unidad', 'version', 'count', 'anzahl', 'nombre', 'cantidad', 'sequence', 'seq', 'position', 'rank', 'level'];

export const nameRules: readonly NameRule[] = [
  // names
  { category: 'name', weight: 0.92, what: 'person name', words: ['maiden', 'first name', 'last name', 'given name', 'family name', 'surname', 'forename', 'fname', 'lname', 'mname', 'middle name', 'maiden name', 'full name', 'patient name', 'pat name', 'pt name', 'nachname', 'vorname', 'familienname', 'geburtsname', 'rufname', 'prenom', 'prenoms', 'nom famille', 'nom naissance', 'nom usage', 'nom jeune fille', 'apellido', 'apellidos', 'primer apellido', 'segundo apellido', 'nombre completo', 'nombre pila', 'cognome', 'initials', 'mother name', 'father name', 'next kin', 'nok name', 'contact name', 'emergency contact', 'guarantor name', 'subscriber name', 'insured name', 'spouse name', 'name first', 'name last', 'name given', 'name family', 'name middle'] },
  { category: 'name', weight: 0.6, what: 'a name', words: ['name', 'nom', 'nombre', 'nome'], unless: [...thingNouns, 'user', 'login', 'host', 'screen'] },
  // geography smaller than a state
  { category: 'geography', weight: 0.9, what: 'postal code', words: ['zip', 'zip code', 'zip5', 'zip4', 'zipcode', 'postal code', 'postcode', 'post code', 'postal', 'plz', 'postleitzahl', 'code postal', 'codigo postal', 'cod postal', 'cp postal'] },
  { category: 'geography', weight: 0.88, what: 'street address', words: ['add line', 'addr line', 'adr line', 'street', 'strasse', 'str', 'hausnummer', 'hausnr', 'house number', 'address', 'addr', 'adresse', 'anschrift', 'direccion', 'domicilio', 'calle', 'rue', 'address line', 'apartment', 'apt', 'po box', 'postfach', 'wohnung'], unless: ['email', 'mail', 'ip', 'mac', 'web', 'url'] },
  { category: 'geography', weight: 0.85, what: 'city, county or smaller area', words: ['fips', 'county fips', 'fips code', 'census block', 'geohash', 'city', 'town', 'ort', 'wohnort', 'stadt', 'ville', 'ciudad', 'localidad', 'poblacion', 'commune', 'municipio', 'gemeinde', 'county', 'kreis', 'landkreis', 'comuna', 'census tract', 'tract', 'block group', 'district', 'bezirk', 'barrio', 'quartier', 'neighborhood', 'neighbourhood', 'suburb', 'birth place', 'birthplace', 'geburtsort', 'lieu naissance', 'lugar nacimiento', 'residence', 'wohnsitz'] },
  { category: 'geography', weight: 0.85, what: 'geographic coordinates', words: ['coord', 'x coord', 'y coord', 'coordinate', 'latitude', 'longitude', 'lat', 'lon', 'lng', 'geo', 'geom', 'geolocation', 'coordinates', 'coords', 'gps', 'breitengrad', 'laengengrad'], families: ['numeric', 'float', 'text', 'other', 'json'] },
  { category: 'other', weight: 0.75, what: 'geography of a state or larger (allowed by Safe Harbor)', words: ['state', 'country', 'bundesland', 'land', 'pays', 'pais', 'province', 'provincia', 'region', 'nation', 'nationality', 'staat', 'etat', 'estado', 'country code'], unless: ['civil', 'marital'] },
  // dates
  { category: 'date', weight: 0.92, what: 'birth date', words: ['dob', 'birth date', 'birthdate', 'birthday', 'birth datetime', 'birth time', 'birth timestamp', 'birth ts', 'date birth', 'geburtsdatum', 'geb dat', 'gebdat', 'geb datum', 'gebdatum', 'geburtstag', 'date naissance', 'naissance', 'ddn', 'fecha nacimiento', 'nacimiento', 'fec nac', 'fnac', 'f nac', 'fecnac'], families: ['date', 'timestamp', 'timestamptz', 'text', 'other'] },
  { category: 'date', weight: 0.88, what: 'part of a birth date', words: ['birth month', 'month birth', 'birth day', 'day birth', 'geburtsmonat', 'geburtstag', 'mois naissance', 'jour naissance', 'mes nacimiento', 'dia nacimiento'], families: ['integer', 'text', 'numeric'] },
  { category: 'age_over_89', weight: 0.85, what: 'birth year (reveals ages over 89)', words: ['birth year', 'year birth', 'yob', 'geburtsjahr', 'annee naissance', 'ano nacimiento', 'anio nacimiento'], families: ['integer', 'numeric', 'text'] },
  { category: 'date', weight: 0.85, what: 'date of death', words: ['death date', 'date death', 'deceased date', 'death datetime', 'sterbedatum', 'todesdatum', 'date deces', 'fecha defuncion', 'fecha fallecimiento'], families: ['date', 'timestamp', 'timestamptz', 'text'] },
  { category: 'date', weight: 0.8, what: 'a date', words: ['date', 'datum', '*datum', 'fecha', 'dt', 'dat', 'datetime', 'timestamp', 'ts', 'zeitpunkt', 'heure', 'hora', 'jour'], families: ['date', 'timestamp', 'timestamptz', 'text', 'other'], unless: ['format', 'type', 'source', 'precision', 'update', 'format'] },
  { category: 'date', weight: 0.7, what: 'when an event happened', words: ['at', 'on', 'time', 'zeit', '*zeit', 'admit', 'admission', 'admitted', 'aufnahme', 'discharge', 'discharged', 'entlassung', 'sortie', 'entree', 'alta', 'ingreso', 'start', 'end', 'beginn', 'ende', 'debut', 'fin', 'inicio', 'collected', 'received', 'performed', 'resulted', 'verified', 'entnahme', 'prelevement', 'recogida', 'created', 'updated', 'modified', 'signed', 'am', 'um', 'erstellt', 'geaendert', 'cree', 'modifie', 'creado', 'modificado'], families: ['date', 'timestamp', 'timestamptz'] },
  // ages
  { category: 'age_over_89', weight: 0.85, what: 'age', words: ['age', 'alter', 'lebensalter', 'edad', 'age years', 'age yrs', 'patient age', 'anos', 'annees'], unless: ['gestational', 'gest', 'bone', 'fetal', 'cell', 'group', 'bucket', 'specimen', 'sample', 'probe', 'reagent', 'unit', 'range', 'category', 'class', 'page', 'storage'] },
  // contact
  { category: 'phone', weight: 0.88, what: 'telephone number', words: ['telecom', 'contact point', 'phone', 'telephone', 'tel', 'telefon', 'telefono', 'telefonnummer', 'tlf', 'tfno', 'tfn', 'mobile', 'mobil', 'handy', 'cell phone', 'cellphone', 'cell number', 'portable', 'movil', 'celular', 'fon', 'pager', 'beeper', 'phone number', 'contact number', 'numero telephone', 'num tel'], unless: ['fax', 'type', 'kind', 'verified'] },
  { category: 'fax', weight: 0.92, what: 'fax number', words: ['fax', 'telefax', 'faxnummer', 'fax number', 'fax nr'] },
  { category: 'email', weight: 0.92, what: 'email address', words: ['email', 'e mail', 'courriel', 'correo', 'correo electronico', 'mel', 'mail address', 'adresse electronique', 'email address', 'emailadresse'], unless: ['verified', 'opt', 'consent', 'type', 'status'] },
  { category: 'email', weight: 0.7, what: 'mail', words: ['mail'], unless: ['verified', 'opt', 'consent', 'type', 'status', 'voice', 'post', 'postal'] },
  // national and record identifiers
  { category: 'ssn', weight: 0.93, what: 'social security / national id number', words: ['ssn', 'social security', 'social security number', 'social security no', 'ssn number', 'soc sec', 'soc sec no', 'sozialversicherungsnummer', 'svnr', 'sv nummer', 'sv nr', 'nir', 'insee', 'numero securite sociale', 'securite sociale', 'secu', 'num secu', 'nss', 'numero seguridad social', 'seguridad social', 'dni', 'nie', 'nif', 'national id', 'nationalid', 'steuer id', 'tax id', 'tin', 'personalausweis', 'identity card', 'id card', 'cedula'] },
  { category: 'mrn', weight: 0.92, what: 'medical record number', words: ['mrn', 'medical record', 'med rec', 'medrec', 'mr number', 'mr no', 'mr num', 'record number', 'chart number', 'chart no', 'chart id', 'patient number', 'patientennummer', 'patnr', 'pat nr', 'pat no', 'pat num', 'pt num', 'pt no', 'ipp', 'nip', 'numero dossier', 'dossier', 'numero patient', 'num patient', 'historia clinica', 'numero historia', 'nhc', 'num historia', 'ehr id', 'emr id', 'unit number', 'urn', 'nhs number', 'nhs no', 'kis nr', 'kis id'] },
  { category: 'health_plan_id', weight: 0.92, what: 'health plan beneficiary number', words: ['mem number', 'mem no', 'mem num', 'mem id', 'subscr num', 'subscr id', 'subscr no', 'subscriber', 'health plan', 'insurance id', 'insurance number', 'insurance no', 'ins id', 'ins no', 'ins num', 'insurance member', 'member id', 'member number', 'member no', 'subscriber id', 'subscriber number', 'policy number', 'policy no', 'policy id', 'hic', 'hicn', 'hic num', 'mbi', 'medicare', 'medicaid', 'beneficiary', 'group number', 'versichertennummer', 'versicherten nr', 'versichertennr', 'kvnr', 'krankenversichertennummer', 'kv nummer', 'kv nr', 'versicherungsnummer', 'mutuelle', 'numero adherent', 'adherent', 'carte vitale', 'tarjeta sanitaria', 'cip', 'numero afiliacion', 'afiliacion', 'num afiliado', 'afiliado', 'aseguradora id', 'poliza'], unless: ['type', 'name'] },
  { category: 'account_number', weight: 0.88, what: 'account number', words: ['account', 'account number', 'acct', 'acct no', 'acct num', 'billing account', 'konto', 'kontonummer', 'iban', 'bank account', 'compte', 'numero compte', 'cuenta', 'numero cuenta', 'credit card', 'card number', 'cc number', 'kreditkarte', 'carte bancaire', 'tarjeta credito'], unless: ['type', 'status', 'manager', 'name'] },
  { category: 'license_number', weight: 0.88, what: 'certificate or license number', words: ['lic', 'lic num', 'lic no', 'lic nr', 'drivers', 'driver lic', 'license', 'licence', 'license number', 'lizenz', 'permis', 'licencia', 'driver license', 'drivers license', 'dl number', 'fuhrerschein', 'fuehrerschein', 'npi', 'dea', 'dea number', 'upin', 'certificate', 'certificate number', 'zertifikat', 'cert', 'lanr', 'bsnr', 'rpps', 'adeli', 'colegiado', 'numero colegiado', 'num colegiado', 'passport', 'reisepass', 'pasaporte', 'passeport', 'approbation'], unless: ['type', 'expiry', 'expires', 'state', 'issued'] },
  { category: 'vehicle_id', weight: 0.88, what: 'vehicle identifier', words: ['vin', 'vehicle', 'license plate', 'plate number', 'plate', 'kennzeichen', 'immatriculation', 'matricula', 'plaque', 'car registration', 'fahrgestellnummer'] },
  { category: 'device_id', weight: 0.82, what: 'device identifier or serial number', words: ['device id', 'device serial', 'serial', 'serial number', 'serial no', 'serialno', 'seriennummer', 'serien nr', 'numero serie', 'num serie', 'serie', 'udi', 'imei', 'mac', 'mac address', 'implant serial', 'device identifier', 'geraet id', 'geraete nr', 'geraetenummer', 'appareil id', 'dispositivo id', 'device uid'] },
  { category: 'url', weight: 0.88, what: 'URL', words: ['url', 'uri', 'website', 'homepage', 'web', 'link', 'webseite', 'site web', 'pagina web', 'sitio web', 'href', 'web address'] },
  { category: 'ip_address', weight: 0.92, what: 'IP address', words: ['ip', 'ip address', 'ipaddr', 'ipaddress', 'ipv4', 'ipv6', 'client ip', 'remote addr', 'remote address', 'host ip', 'adresse ip', 'direccion ip'] },
  { category: 'biometric', weight: 0.88, what: 'biometric identifier', words: ['fingerprint', 'finger print', 'retina', 'retinal scan', 'iris', 'iris scan', 'voiceprint', 'voice print', 'face template', 'facial template', 'biometric', 'biometrics', 'biometrie', 'biometria', 'fingerabdruck', 'empreinte', 'empreinte digitale', 'huella', 'huella dactilar', 'palm print', 'gait signature'] },
  { category: 'photo', weight: 0.82, what: 'photograph', words: ['photo', 'foto', 'picture', 'image', 'img', 'bild', 'portrait', 'face', 'headshot', 'selfie', 'avatar', 'photographie', 'imagen', 'fotografia', 'lichtbild', 'passbild'], unless: ['xray', 'x', 'ray', 'ct', 'mri', 'dicom', 'scan', 'radiology', 'ultrasound', 'roentgen', 'slide', 'microscopy', 'histology', 'count', 'type', 'format'] },
  { category: 'subject_key', weight: 0.8, what: 'patient identifier', words: ['patient id', 'pat id', 'pt id', 'patid', 'ptid', 'patientid', 'patient key', 'patient uuid', 'person id', 'personid', 'subject id', 'id patient', 'id paciente', 'paciente id', 'id personne', 'id persona', 'persona id', 'personen id', 'patienten id', 'pid'] },
  { category: 'other_unique_id', weight: 0.62, what: 'identifier or reference number', words: ['id', 'uuid', 'guid', 'key', 'nr', 'no', 'num', 'number', 'nummer', 'numero', 'identifier', 'ident', 'ref', 'reference', 'accession', 'accession number', 'barcode', 'token', 'case number', 'fallnummer', 'fall nr', 'fallnr', 'visit number', 'encounter number', 'episode number', 'order number', 'auftragsnummer', 'auftragsnr', 'numero commande', 'numero pedido', 'probennummer', 'proben nr', 'sample id', 'specimen id', 'code barre', 'codigo barras'], unless: vocabularyNouns },
  // OMOP CDM keeps the source system's identifiers in `*_source_value` columns
  { category: 'mrn', weight: 0.85, what: "the source system's patient identifier", words: ['person source value', 'patient source value'] },
  { category: 'other_unique_id', weight: 0.7, what: "the source system's identifier of a provider, site or place", words: ['provider source value', 'care site source value', 'location source value'] },
  // a family or household code links relatives: an identifier of the person's family
  { category: 'other_unique_id', weight: 0.8, what: 'family or household identifier', words: ['family source value', 'family id', 'family number', 'household', 'household id', 'household number', 'haushalt id', 'haushaltsnummer', 'foyer id', 'hogar id'] },
  // a batch of a product is shared by everyone who received it: not an identifier of a person or record
  { category: 'other', weight: 0.8, what: 'product lot or batch', words: ['lot', 'lot number', 'lot no', 'batch', 'batch number', 'batch no', 'chargennummer', 'charge nr', 'numero lot', 'lote', 'numero lote'] },
  // when a code or mapping row is valid: a property of the vocabulary, not of a person
  { category: 'other', weight: 0.9, what: 'validity period of a record', words: ['valid start date', 'valid end date', 'valid start', 'valid end', 'valid from', 'valid to', 'valid until', 'gueltig ab', 'gueltig bis', 'valide debut', 'valide fin', 'valido desde', 'valido hasta'] },
  { category: 'other_unique_id', weight: 0.75, what: 'login or identifier value', words: ['identifier value', 'login', 'username', 'user name', 'login name', 'user id', 'userid'] },
  // glued ids (`wardid`, `icustayid`, `cgid`); the veto list keeps `fluid`, `lipid`, `thyroid`… out
  { category: 'other_unique_id', weight: 0.55, what: 'identifier (glued *id)', words: ['*id'], unless: ['*oid', 'acid', 'fluid', 'lipid', 'valid', 'invalid', 'humid', 'rapid', 'liquid', 'solid', 'paid', 'covid', 'hybrid', 'david', 'madrid', 'vivid', 'avid', 'lucid', 'morbid', 'turbid', 'gravid', 'rigid', 'tepid', 'fetid', 'florid', 'putrid', 'rabid', 'pallid', 'insipid', 'squid', 'candid', 'sordid', 'torpid', 'placid', 'timid', 'stupid', 'splendid', 'frigid', ...vocabularyNouns] },
  // quasi-identifiers
  { category: 'sex', weight: 0.88, what: 'sex', words: ['sex', 'geschlecht', 'sexe', 'sexo', 'sex birth', 'birth sex', 'administrative sex'] },
  { category: 'gender', weight: 0.88, what: 'gender', words: ['gender', 'gender identity', 'genre', 'genero', 'soziales geschlecht'] },
  { category: 'race', weight: 0.88, what: 'race', words: ['race', 'racial', 'raza', 'rasse'] },
  { category: 'ethnicity', weight: 0.88, what: 'ethnicity', words: ['ethnicity', 'ethnic', 'ethnic group', 'ethnie', 'ethnique', 'etnia', 'etnico', 'ethnizitaet', 'hispanic'] },
  { category: 'language', weight: 0.85, what: 'language', words: ['language', 'lang', 'sprache', 'muttersprache', 'langue', 'idioma', 'lengua', 'preferred language', 'interpreter needed'] },
  { category: 'marital_status', weight: 0.88, what: 'marital status', words: ['marital', 'marital status', 'married', 'familienstand', 'etat civil', 'situation familiale', 'estado civil', 'civil status'] },
  { category: 'occupation', weight: 0.85, what: 'occupation', words: ['occupation', 'job', 'job title', 'profession', 'beruf', 'berufsbezeichnung', 'metier', 'ocupacion', 'profesion', 'employment', 'taetigkeit'] },
  // notes
  { category: 'free_text', weight: 0.7, what: 'free-text note', unless: ['type', 'typ', 'tipo', 'kind', 'category', 'id', 'date', 'status', 'count', 'flag', 'length', 'format', 'author', 'title', 'source', 'class'], words: ['note', 'notes', 'comment', 'comments', 'remark', 'remarks', 'narrative', 'free text', 'freetext', 'text', 'history', 'hpi', 'impression', 'summary', 'discharge summary', 'progress note', 'bemerkung', 'bemerkungen', 'kommentar', 'notiz', 'anmerkung', 'freitext', 'anamnese', 'verlauf', 'epikrise', 'arztbrief', 'commentaire', 'commentaires', 'remarque', 'remarques', 'compte rendu', 'texte', 'nota', 'notas', 'comentario', 'comentarios', 'observaciones', 'informe', 'evolucion', 'anamnesis', 'body', 'message', 'clinical note', 'report text'] },
  // clinical content
  { category: 'clinical', weight: 0.45, what: 'a measured or coded value', words: ['value', 'result', 'code', 'unit', 'units', 'low', 'high', 'min', 'max', 'range', 'modifier', 'operator', 'reason', 'stop reason', '*uom'] },
  { category: 'clinical', weight: 0.62, what: 'clinical content', words: ['diagnosis', 'dx', 'diag', 'diagnose', 'diagnostic', 'diagnostico', 'icd', 'icd10', 'icd9', 'snomed', 'loinc', 'cpt', 'atc', 'ndc', 'rxnorm', 'concept', 'condition', 'procedure', 'medication', 'med', 'drug', 'dose', 'dosage', 'dosis', 'posologie', 'route', 'frequency', 'wert', 'messwert', 'laborwert', 'valeur', 'valor', 'resultat', 'resultado', 'befund', 'ergebnis', 'einheit', 'unite', 'unidad', 'uom', 'reference range', 'ref range', 'normal range', 'referenzbereich', 'normbereich', 'abnormal', 'analyte', 'test', 'analyse', 'analisis', 'examen', 'prueba', 'measurement', 'vital', 'systolic', 'diastolic', 'pulse', 'heart rate', 'temperature', 'temp', 'temperatura', 'weight', 'gewicht', 'poids', 'peso', 'height', 'groesse', 'taille', 'talla', 'altura', 'bmi', 'glucose', 'hemoglobin', 'hba1c', 'creatinine', 'cholesterol', 'allergy', 'allergen', 'symptom', 'sintoma', 'severity', 'stage', 'grade', 'organism', 'quantity', 'qty', 'interpretation', 'outcome', 'specimen type', 'probenart', 'material', 'gestational age', 'treatment', 'traitement', 'tratamiento', 'therapy', 'therapie', 'terapia', 'triage', 'acuity', 'specialty', 'fachrichtung', 'specialite', 'especialidad', 'method', 'methode', 'metodo', 'days supply', 'refills', 'icd code', 'complaint', 'chief complaint', 'reason visit', 'visit reason', 'motif consultation', 'motivo consulta', 'anormal', 'anomal', 'rango referencia', 'valeurs reference', 'indication', 'indikation', 'indicacion'] },
  // bookkeeping
  { category: 'other', weight: 0.45, what: 'bookkeeping', words: ['status', 'flag', 'active', 'is', 'has', 'version', 'type', 'typ', 'tipo', 'category', 'kind', 'source', 'priority', 'prioritaet', 'prioridad', 'priorite', 'sequence', 'seq', 'rank', 'sort', 'order by', 'deleted', 'enabled', 'count', 'anzahl', 'cantidad', 'currency', 'amount', 'betrag', 'montant', 'importe', 'level', 'label', 'description', 'beschreibung', 'descripcion', 'libelle', 'display'] },
];
