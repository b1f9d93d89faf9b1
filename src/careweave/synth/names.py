"""UK-like names, streets and places for synthetic people and organisations.

Common given names and surnames in England and Wales (ONS baby names and surname frequency lists
give the flavour); no real person is intended. Postcode areas are real English areas so that
postcodes look plausible; districts, sectors and units are random and need not exist.
"""

from __future__ import annotations

MALE_GIVEN = (
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William",
    "James", "Leo", "Alfie", "Henry", "Joshua", "Freddie", "Archie", "Ethan", "Isaac", "Alexander",
    "Mohammed", "Joseph", "Samuel", "Daniel", "Logan", "Edward", "Lucas", "Max", "Adam", "Ryan",
    "David", "John", "Michael", "Paul", "Peter", "Stephen", "Robert", "Richard", "Mark", "Andrew",
    "Christopher", "Anthony", "Kevin", "Ian", "Gary", "Brian", "Kenneth", "Derek", "Raymond", "Arjun",
    "Ali", "Kwame", "Tomasz", "Imran", "Ravi",
)
FEMALE_GIVEN = (
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella",
    "Lily", "Evie", "Isabella", "Sophie", "Ivy", "Freya", "Harper", "Willow", "Charlotte", "Jessica",
    "Sarah", "Emma", "Rebecca", "Laura", "Hannah", "Rachel", "Claire", "Helen", "Karen", "Susan",
    "Margaret", "Patricia", "Linda", "Barbara", "Elizabeth", "Jean", "Joan", "Dorothy", "Mary", "Janet",
    "Christine", "Julie", "Angela", "Deborah", "Nicola", "Fatima", "Aisha", "Priya", "Amara", "Zofia",
    "Maryam", "Chloe", "Ruby", "Megan", "Niamh",
)
SURNAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
    "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
    "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
    "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen",
    "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths",
    "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy",
    "Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh",
    "Begum", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali",
    "Hunt", "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight",
    "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Nowak",
    "Okafor", "Mensah", "Chowdhury", "Ahmed", "Kowalski",
)
STREETS = (
    "High Street", "Station Road", "Church Street", "Main Street", "Park Road", "Church Lane", "Victoria Road",
    "Green Lane", "Manor Road", "Queens Road", "Kings Road", "New Road", "Grange Road", "Mill Lane",
    "School Lane", "The Avenue", "Springfield Road", "North Street", "Albert Road", "Chapel Street",
    "York Road", "Windsor Road", "Highfield Road", "Brook Street", "Mount Pleasant", "Westfield Road",
    "Cemetery Road", "Oxford Road", "St John's Road", "Beech Grove", "Elm Close", "Orchard Way",
)
# (postcode area, post town): real English postcode areas.
AREAS = (
    ("LS", "Leeds"), ("M", "Manchester"), ("B", "Birmingham"), ("S", "Sheffield"), ("NE", "Newcastle upon Tyne"),
    ("L", "Liverpool"), ("BS", "Bristol"), ("NG", "Nottingham"), ("LE", "Leicester"), ("PL", "Plymouth"),
    ("HU", "Hull"), ("SO", "Southampton"), ("CV", "Coventry"), ("BD", "Bradford"), ("ST", "Stoke-on-Trent"),
)
# Letters allowed in the inward part of a UK postcode (C, I, K, M, O, V are never used there).
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# BCP-47 language tags for the commonest main languages other than English (Census 2021 TS024).
OTHER_LANGUAGES = ("pl", "ro", "pa", "ur", "pt", "es", "ar", "bn", "gu", "it", "lt", "zh")
