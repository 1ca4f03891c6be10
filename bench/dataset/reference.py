"""Reference data for realistic Dutch customers, addresses and products."""

FIRST_NAMES = (
    "Jan Sanne Daan Emma Lotte Sem Julia Lucas Tess Finn Sophie Noah Mila Levi Zoë Milan Eva Luuk Anna Bram "
    "Fleur Thijs Lieke Ruben Isa Jesse Noor Stijn Sara Tim Femke Joris Anouk Koen Roos Bas Iris Wouter Floor "
    "Gijs Esmee Mark Linda Peter Marieke Hans Ingrid Kees Annelies Pieter Marloes Willem Sanne Youssef Fatima "
    "Mohamed Ayşe Mehmet Priya Chen Wei An Bo"
).split()

LAST_NAMES = (
    "de Jong|Jansen|de Vries|van den Berg|van Dijk|Bakker|Janssen|Visser|Smit|Meijer|de Boer|Mulder|de Groot|"
    "Bos|Vos|Peters|Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|Dijkstra|Smits|de Graaf|van der Meer|"
    "van der Linden|Kok|Jacobs|de Haan|Vermeulen|van den Heuvel|van der Veen|van den Broek|de Bruijn|"
    "de Bruin|van der Heijden|Schouten|van Beek|Willems|van Vliet|van de Ven|Hoekstra|Maas|Verhoeven|Koster|"
    "van Dam|van der Wal|Prins|Blom|Huisman|Peeters|de Lange|Kuipers|van Wijk|Yılmaz|El Amrani|Kaya|Nguyen"
).split("|")

EMAIL_DOMAINS = (
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "ziggo.nl",
    "kpnmail.nl",
    "live.nl",
    "icloud.com",
    "planet.nl",
    "xs4all.nl",
    "hetnet.nl",
)

STREETS = (
    "Dorpsstraat|Kerkstraat|Schoolstraat|Molenweg|Stationsweg|Nieuwstraat|Julianastraat|Beatrixstraat|"
    "Wilhelminastraat|Marktstraat|Oudegracht|Lange Voorhout|Herengracht|Prinsengracht|Kastanjelaan|"
    "Eikenlaan|Lindelaan|Parallelweg|Industrieweg|Burgemeester de Withstraat|Hoofdstraat|Sportlaan|"
    "Merelstraat|Zuiderzeeweg|Vondelstraat|Rembrandtlaan|Van Goghstraat|Spoorstraat|Havenstraat|Brinklaan"
).split("|")

# city, first and last postcode digits of (part of) its range
NL_CITIES = (
    ("Amsterdam", 1011, 1109),
    ("Rotterdam", 3011, 3089),
    ("Den Haag", 2491, 2597),
    ("Utrecht", 3511, 3585),
    ("Eindhoven", 5611, 5658),
    ("Groningen", 9711, 9747),
    ("Tilburg", 5011, 5049),
    ("Almere", 1311, 1363),
    ("Breda", 4811, 4839),
    ("Nijmegen", 6511, 6546),
    ("Haarlem", 2011, 2037),
    ("Arnhem", 6811, 6846),
    ("Zwolle", 8011, 8043),
    ("Leiden", 2311, 2334),
    ("Maastricht", 6211, 6229),
    ("Amersfoort", 3811, 3833),
    ("Apeldoorn", 7311, 7339),
    ("Enschede", 7511, 7548),
    ("'s-Hertogenbosch", 5211, 5249),
    ("Delft", 2611, 2629),
)
BE_CITIES = (("Antwerpen", 2000, 2060), ("Gent", 9000, 9052), ("Brussel", 1000, 1210), ("Leuven", 3000, 3012))
DE_CITIES = (("Köln", 50667, 51149), ("Düsseldorf", 40210, 40629), ("Aachen", 52062, 52080))
# Dutch postcode letters: any two, except SA, SD and SS
POSTCODE_LETTERS = tuple(
    a + b for a in "ABCDEFGHJKLMNPRSTVWXZ" for b in "ABCDEFGHJKLMNPRSTVWXZ" if a + b not in ("SA", "SD", "SS")
)
ADDITIONS = ("A", "B", "C", "1", "2", "3", "BIS", "HS")

# code, Dutch name, VAT class, storage kinds (weighted), weight range (g), price range (EUR)
CATEGORIES = (
    ("kleding", "Kleding", "standard", ("hanging", "normal", "normal"), (150, 900), (15, 120)),
    ("schoenen", "Schoenen", "standard", ("normal",), (500, 1600), (35, 180)),
    ("accessoires", "Accessoires", "standard", ("normal",), (50, 400), (8, 80)),
    ("sport", "Sport", "standard", ("normal", "normal", "bulky"), (200, 9000), (10, 250)),
    ("wonen", "Wonen", "standard", ("normal", "bulky"), (300, 15000), (12, 400)),
    ("keuken", "Keuken", "standard", ("normal",), (200, 4000), (6, 150)),
    ("elektronica", "Elektronica", "standard", ("normal", "normal", "secure"), (100, 5000), (15, 900)),
    ("boeken", "Boeken", "reduced", ("normal",), (150, 1200), (8, 45)),
    ("speelgoed", "Speelgoed", "standard", ("normal", "bulky"), (100, 6000), (5, 120)),
    ("tuin", "Tuin", "standard", ("bulky", "normal"), (500, 20000), (10, 350)),
    ("verzorging", "Verzorging", "standard", ("normal",), (50, 800), (3, 60)),
    ("sieraden", "Sieraden", "standard", ("secure",), (10, 200), (25, 1200)),
    ("cadeaubonnen", "Cadeaubonnen", "zero", ("normal",), (10, 20), (10, 100)),
)
CATEGORY_WEIGHTS = (22, 10, 9, 9, 9, 7, 8, 8, 6, 4, 5, 2, 1)

BRANDS = (
    "Noordkust|Polderpaard|Dijkman|Grachtgoed|Tulpveld|Zeewind|Veenstra & Co|Molenaar|Hollandsche Waar|"
    "Bolderkar|Kaasboer|Fietsvrij|Duinzand|IJsvogel|Wadlopers|Klompmaker|Stroopwafel Studio|Regenjas|"
    "Heidebloem|Havenlicht|Koploper|Sloothuis|De Oude Loods|Buitenpret|Lichtpunt|Zonnehoek|Rietdekker|"
    "Waterland|Vuurtoren|Keienhard"
).split("|")
COLOURS = ("Zwart", "Wit", "Rood", "Blauw", "Groen", "Grijs", "Beige", "Navy", "Roze", "Geel")
SIZES = ("XS", "S", "M", "L", "XL", "38", "40", "42", "ONE")
NOUNS = {
    "kleding": ("T-shirt", "Trui", "Jas", "Broek", "Jurk", "Blouse", "Colbert"),
    "schoenen": ("Sneaker", "Laars", "Sandaal", "Pump", "Wandelschoen"),
    "accessoires": ("Sjaal", "Riem", "Pet", "Tas", "Handschoenen"),
    "sport": ("Yogamat", "Halterset", "Hardloopshirt", "Fietshelm", "Tennisracket"),
    "wonen": ("Kussen", "Plaid", "Vaas", "Lamp", "Kast", "Vloerkleed"),
    "keuken": ("Koekenpan", "Messenset", "Theepot", "Snijplank", "Bakvorm"),
    "elektronica": ("Koptelefoon", "Speaker", "Oplader", "Smartwatch", "Powerbank"),
    "boeken": ("Roman", "Kookboek", "Reisgids", "Prentenboek", "Thriller"),
    "speelgoed": ("Bouwset", "Knuffel", "Puzzel", "Bordspel", "Loopfiets"),
    "tuin": ("Tuinset", "Parasol", "Plantenbak", "Barbecue", "Tuinslang"),
    "verzorging": ("Shampoo", "Bodylotion", "Scheerset", "Parfum", "Zeep"),
    "sieraden": ("Ring", "Ketting", "Armband", "Horloge", "Oorbellen"),
    "cadeaubonnen": ("Cadeaubon",),
}
