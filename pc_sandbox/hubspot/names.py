"""Word lists the generator draws realistic names, companies and places from."""

from __future__ import annotations

FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Oliver", "Evelyn", "Henry", "Camila",
    "Theodore", "Luna", "Jack", "Ella", "Levi", "Aria", "Alexander", "Scarlett", "Sebastian",
    "Chloe", "Daniel", "Layla", "Samuel", "Nora", "Owen", "Zoe", "Leo", "Hannah", "Ethan",
    "Lea", "Jonas", "Clara", "Felix", "Marie", "Paul", "Sofia", "Ahmed", "Priya", "Wei",
    "Yuki", "Carlos", "Fatima", "Diego", "Ingrid", "Mohammed", "Anja", "Raj", "Chen", "Elena",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Muller", "Schmidt",
    "Schneider", "Fischer", "Weber", "Kowalski", "Novak", "Rossi", "Dubois", "Jansen",
)
COMPANY_WORDS = (
    "Northwind", "Blue Ridge", "Summit", "Brightpath", "Ironclad", "Evergreen", "Silverline",
    "Cobalt", "Redwood", "Harbor", "Pinnacle", "Lumen", "Vertex", "Granite", "Meridian",
    "Clearwater", "Falcon", "Aurora", "Beacon", "Crescent", "Horizon", "Keystone", "Maple",
    "Nimbus", "Orbit", "Polaris", "Quantum", "Riverstone", "Sequoia", "Tidal", "Upland",
    "Vantage", "Willow", "Zenith", "Atlas", "Bluebird", "Cedar", "Driftwood", "Ember",
    "Foxglove", "Gideon", "Helix", "Indigo", "Juniper", "Kestrel", "Lighthouse", "Mosaic",
)
COMPANY_SUFFIXES = (
    "Labs", "Group", "Partners", "Solutions", "Inc", "GmbH", "Digital", "Systems",
    "Consulting", "Health", "Logistics", "Media", "Capital", "Foods", "Energy", "Studio",
)
#: (city, state/region, country)
LOCATIONS = (
    ("New York", "NY", "United States"), ("San Francisco", "CA", "United States"),
    ("Austin", "TX", "United States"), ("Chicago", "IL", "United States"),
    ("Boston", "MA", "United States"), ("Seattle", "WA", "United States"),
    ("Denver", "CO", "United States"), ("Atlanta", "GA", "United States"),
    ("Miami", "FL", "United States"), ("Toronto", "ON", "Canada"),
    ("Vancouver", "BC", "Canada"), ("London", "England", "United Kingdom"),
    ("Manchester", "England", "United Kingdom"), ("Dublin", "Leinster", "Ireland"),
    ("Berlin", "Berlin", "Germany"), ("Munich", "Bavaria", "Germany"),
    ("Hamburg", "Hamburg", "Germany"), ("Vienna", "Vienna", "Austria"),
    ("Zurich", "Zurich", "Switzerland"), ("Paris", "Ile-de-France", "France"),
    ("Amsterdam", "North Holland", "Netherlands"), ("Stockholm", "Stockholm", "Sweden"),
    ("Copenhagen", "Capital Region", "Denmark"), ("Madrid", "Madrid", "Spain"),
    ("Barcelona", "Catalonia", "Spain"), ("Milan", "Lombardy", "Italy"),
    ("Warsaw", "Masovia", "Poland"), ("Sydney", "NSW", "Australia"),
    ("Melbourne", "VIC", "Australia"), ("Singapore", "Singapore", "Singapore"),
)
JOB_TITLES = (
    "CEO", "CTO", "COO", "Founder", "Head of Marketing", "Marketing Manager", "Sales Director",
    "VP Sales", "Head of Growth", "Operations Manager", "Product Manager", "IT Director",
    "Procurement Lead", "Business Development Manager", "Managing Director", "CFO",
    "Customer Success Lead", "Office Manager", "Head of Partnerships", "Account Executive",
)
DEAL_PRODUCTS = (
    "Website redesign", "SEO retainer", "Paid social campaign", "CRM implementation",
    "HubSpot onboarding", "Brand refresh", "Content marketing package", "PPC management",
    "Marketing automation setup", "Sales enablement", "Video production", "Lead generation",
    "E-commerce build", "Analytics audit", "Email nurture program", "App development",
)
AMOUNT_BASES = (1500, 2500, 5000, 7500, 10000, 15000, 25000, 40000, 60000, 90000, 150000)
