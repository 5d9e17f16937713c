/** Places for fake: cities, street names and suffixes, phone area codes, email domains (US/EU, ASCII). */
export const fakeCities: readonly string[] = Object.freeze([
  'Springfield', 'Riverside', 'Franklin', 'Greenville', 'Bristol', 'Clinton', 'Fairview', 'Salem', 'Madison', 'Georgetown',
  'Arlington', 'Ashland', 'Burlington', 'Manchester', 'Milton', 'Oxford', 'Dover', 'Hudson', 'Jackson', 'Marion',
  'Newport', 'Auburn', 'Dayton', 'Lexington', 'Milford', 'Winchester', 'Cleveland', 'Kingston', 'Lebanon', 'Mount Vernon',
  'Boston', 'Chicago', 'Denver', 'Seattle', 'Portland', 'Austin', 'Phoenix', 'Atlanta', 'Baltimore', 'Pittsburgh',
  'Cincinnati', 'Columbus', 'Indianapolis', 'Milwaukee', 'Minneapolis', 'Omaha', 'Tulsa', 'Albuquerque', 'Sacramento', 'San Diego',
  'San Antonio', 'Charlotte', 'Raleigh', 'Richmond', 'Nashville', 'Louisville', 'Memphis', 'Buffalo', 'Rochester', 'Albany',
  'Hartford', 'Providence', 'Worcester', 'Syracuse', 'Toledo', 'Akron', 'Des Moines', 'Wichita', 'Boise', 'Spokane',
  'Tacoma', 'Fresno', 'Reno', 'Tucson', 'El Paso', 'Lubbock', 'Savannah', 'Charleston', 'Knoxville', 'Lansing',
  'Berlin', 'Hamburg', 'Munich', 'Cologne', 'Frankfurt', 'Stuttgart', 'Leipzig', 'Dresden', 'Vienna', 'Zurich',
  'Amsterdam', 'Rotterdam', 'Utrecht', 'Antwerp', 'Brussels', 'Ghent', 'Lyon', 'Marseille', 'Toulouse', 'Bordeaux',
  'Nantes', 'Lille', 'Milan', 'Turin', 'Bologna', 'Florence', 'Madrid', 'Barcelona', 'Valencia', 'Seville',
  'Lisbon', 'Porto', 'Dublin', 'Cork', 'Galway', 'Leeds', 'Glasgow', 'Edinburgh', 'Cardiff', 'Copenhagen',
  'Aarhus', 'Stockholm', 'Gothenburg', 'Malmo', 'Oslo', 'Bergen', 'Helsinki', 'Tampere', 'Krakow', 'Gdansk',
]);

export const fakeStreetNames: readonly string[] = Object.freeze([
  'Main', 'Oak', 'Pine', 'Maple', 'Cedar', 'Elm', 'Washington', 'Lake', 'Hill', 'Park',
  'Walnut', 'Spring', 'North', 'Ridge', 'Church', 'Willow', 'Mill', 'Sunset', 'Railroad', 'Jefferson',
  'Lincoln', 'Highland', 'Jackson', 'Forest', 'River', 'Meadow', 'Chestnut', 'Center', 'Franklin', 'Adams',
  'Madison', 'Birch', 'Cherry', 'Hickory', 'Dogwood', 'Poplar', 'Sycamore', 'Spruce', 'Laurel', 'Magnolia',
  'Valley', 'Prospect', 'Union', 'Liberty', 'Market', 'Water', 'School', 'Broad', 'Front', 'High',
  'Garden', 'Orchard', 'Green', 'Bridge', 'Mulberry', 'Harbor', 'Bay', 'Canal', 'Station', 'King',
  'Queen', 'Victoria', 'Albert', 'Linden', 'Beech', 'Ash', 'Hawthorn', 'Heather', 'Rose', 'Lavender',
  'Fairway', 'Brookside', 'Lakeview', 'Woodland', 'Hillcrest', 'Riverside', 'Glenwood', 'Greenfield', 'Kingsley', 'Wellington',
]);

export const fakeStreetSuffixes: readonly string[] = Object.freeze(['Street', 'Avenue', 'Road', 'Lane', 'Drive', 'Court', 'Place', 'Boulevard', 'Way', 'Terrace']);

/** US area codes; fake numbers use the 555-0100…0199 exchange reserved for fiction, so no real line is ever shown. */
export const fakeAreaCodes: readonly string[] = Object.freeze([
  '201', '202', '203', '205', '206', '207', '208', '212', '213', '214', '215', '216', '217', '218', '219', '301',
  '302', '303', '304', '305', '307', '308', '309', '310', '312', '313', '314', '315', '316', '317', '401', '402',
  '404', '405', '406', '407', '408', '410', '412', '413', '414', '415', '501', '502', '503', '504', '505', '507',
  '508', '509', '512', '513', '515', '516', '517', '518', '601', '602', '603', '605', '606', '607', '608', '609',
  '612', '614', '615', '616', '617', '702', '703', '704', '706', '707', '708', '712', '713', '714', '715', '716',
]);

/** Reserved for documentation (RFC 2606): a fake email can never reach anyone. */
export const fakeEmailDomains: readonly string[] = Object.freeze(['example.com', 'example.org', 'example.net']);
