/**
 * A deterministic generator of randomuser.me v1.4-shaped users: the data behind the API
 * emulator and the expected values in tests.
 *
 * User number `n` of a seed depends only on (seed, n, nat filter), so page P of R users
 * is users (P-1)*R … P*R-1, exactly as the real API pages a seed. Nothing reads the real
 * clock or `Math.random`: ages are computed against a fixed reference date.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type * as RandomUser from "./RandomUser.js"

/** What `generatePage` produces: one page of a seed. */
export interface PageOptions {
  readonly seed: string
  /** 1-based, as the API numbers pages. */
  readonly page: number
  readonly results: number
  /** Nationalities to draw from (case-insensitive); unknown ones are ignored, as the API does. */
  readonly nat?: ReadonlyArray<string> | string | undefined
}

/**
 * The date ages are computed against. Fixed, so the same request always gives the same
 * bytes; the real API uses "now", which would make every snapshot flaky.
 */
export const referenceDate: Date = new Date("2025-01-01T00:00:00.000Z")

/** The position of user `index` of page `page` (1-based) of `results` users within its seed. */
export const userNumberOf = (page: number, results: number, index: number): number => (page - 1) * results + index

// --- PRNG ------------------------------------------------------------------------------

// xmur3 turns the string key into 32-bit seeds; sfc32 is a small, fast, well-mixed
// generator. Both are public-domain and have no state outside the closure.
const xmur3 = (str: string): (() => number) => {
  let h = 1779033703 ^ str.length
  for (let i = 0; i < str.length; i++) {
    h = Math.imul(h ^ str.charCodeAt(i), 3432918353)
    h = (h << 13) | (h >>> 19)
  }
  return () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507)
    h = Math.imul(h ^ (h >>> 13), 3266489909)
    return (h ^= h >>> 16) >>> 0
  }
}

const sfc32 = (a: number, b: number, c: number, d: number): (() => number) => () => {
  a >>>= 0
  b >>>= 0
  c >>>= 0
  d >>>= 0
  let t = (a + b) | 0
  a = b ^ (b >>> 9)
  b = (c + (c << 3)) | 0
  c = (c << 21) | (c >>> 11)
  d = (d + 1) | 0
  t = (t + d) | 0
  c = (c + t) | 0
  return (t >>> 0) / 4294967296
}

interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [min, max]. */
  readonly int: (min: number, max: number) => number
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  /** Replaces every `#` with a digit and every `@` with an upper-case letter. */
  readonly pattern: (template: string) => string
}

const makeRng = (key: string): Rng => {
  const h = xmur3(key)
  const next = sfc32(h(), h(), h(), h())
  // Discard the first outputs: sfc32 mixes poorly in its first few rounds.
  for (let i = 0; i < 12; i++) next()
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(0, items.length - 1)]!
  const pattern = (template: string) =>
    template.replace(/[#@]/g, (c) => (c === "#" ? String(int(0, 9)) : String.fromCharCode(65 + int(0, 25))))
  return { next, int, pick, pattern }
}

// --- Per-nationality data ---------------------------------------------------------------

interface Nationality {
  readonly country: string
  readonly male: ReadonlyArray<string>
  readonly female: ReadonlyArray<string>
  readonly last: ReadonlyArray<string>
  readonly places: ReadonlyArray<readonly [city: string, state: string]>
  readonly streets: ReadonlyArray<string>
  readonly postcode: (rng: Rng) => number | string
  readonly phone: string
  readonly cell: string
  readonly idName: string
  readonly idValue: (rng: Rng) => string | null
  readonly titles?: { readonly male: ReadonlyArray<string>; readonly female: ReadonlyArray<string> }
}

const nationalities: Readonly<Record<string, Nationality>> = {
  US: {
    country: "United States",
    male: ["James", "Michael", "Robert", "David", "William", "Joseph", "Charles", "Thomas", "Daniel", "Mark"],
    female: ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen"],
    last: ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor"],
    places: [["Austin", "Texas"], ["Denver", "Colorado"], ["Portland", "Oregon"], ["Columbus", "Ohio"], [
      "Raleigh",
      "North Carolina"
    ], ["Tucson", "Arizona"]],
    streets: ["Main St", "Oak Ridge Ln", "Pecan Acres Ln", "Hickory Creek Dr", "Parker Rd", "Lakeview St"],
    postcode: (rng) => rng.int(10000, 99999),
    phone: "(###) ###-####",
    cell: "(###) ###-####",
    idName: "SSN",
    idValue: (rng) => rng.pattern("###-##-####")
  },
  GB: {
    country: "United Kingdom",
    male: ["Oliver", "Harry", "George", "Jack", "Charlie", "Alfie", "Freddie", "Archie", "Leo", "Oscar"],
    female: ["Olivia", "Amelia", "Isla", "Ava", "Emily", "Poppy", "Sophie", "Grace", "Lily", "Freya"],
    last: ["Jones", "Taylor", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes", "Green", "Hall"],
    places: [["Leeds", "West Yorkshire"], ["Bristol", "Avon"], ["York", "North Yorkshire"], ["Exeter", "Devon"], [
      "Norwich",
      "Norfolk"
    ], ["Cardiff", "South Glamorgan"]],
    streets: ["High Street", "Church Lane", "Station Road", "Victoria Road", "Mill Lane", "Park Avenue"],
    postcode: (rng) => rng.pattern("@# #@@"),
    phone: "0###-###-####",
    cell: "07###-######",
    idName: "NINO",
    idValue: (rng) => rng.pattern("@@ ## ## ## @")
  },
  FR: {
    country: "France",
    male: ["Lucas", "Hugo", "Louis", "Nathan", "Gabriel", "Jules", "Arthur", "Mathis", "Théo", "Raphaël"],
    female: ["Emma", "Léa", "Chloé", "Manon", "Camille", "Inès", "Jade", "Louise", "Zoé", "Clara"],
    last: ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"],
    places: [["Lyon", "Rhône"], ["Nantes", "Loire-Atlantique"], ["Rennes", "Ille-et-Vilaine"], [
      "Toulouse",
      "Haute-Garonne"
    ], ["Lille", "Nord"], ["Montpellier", "Hérault"]],
    streets: ["Rue de la Paix", "Rue Pasteur", "Avenue Jean-Jaurès", "Rue Victor-Hugo", "Place du Marché", "Rue de l'Église"],
    postcode: (rng) => rng.int(10000, 95999),
    phone: "0#-##-##-##-##",
    cell: "06-##-##-##-##",
    idName: "INSEE",
    titles: { male: ["Monsieur", "Mr"], female: ["Madame", "Mademoiselle", "Ms"] },
    idValue: (rng) => rng.pattern("############# ##")
  },
  DE: {
    country: "Germany",
    male: ["Lukas", "Leon", "Finn", "Jonas", "Paul", "Felix", "Maximilian", "Elias", "Noah", "Tim"],
    female: ["Mia", "Hannah", "Lena", "Anna", "Lea", "Leonie", "Lina", "Marie", "Emilia", "Sophia"],
    last: ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann"],
    places: [["Hamburg", "Hamburg"], ["Köln", "Nordrhein-Westfalen"], ["Leipzig", "Sachsen"], [
      "Stuttgart",
      "Baden-Württemberg"
    ], ["Bremen", "Bremen"], ["Nürnberg", "Bayern"]],
    streets: ["Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Lindenstraße", "Am Sportplatz"],
    postcode: (rng) => rng.int(10000, 99999),
    phone: "0###-#######",
    cell: "017#-#######",
    idName: "SVNR",
    idValue: (rng) => rng.pattern("## ###### @ ###")
  },
  AU: {
    country: "Australia",
    male: ["Jack", "William", "Noah", "Thomas", "Ethan", "Lachlan", "Cooper", "Riley", "Liam", "Mason"],
    female: ["Charlotte", "Ruby", "Chloe", "Mia", "Ella", "Matilda", "Isabella", "Zoe", "Harper", "Evie"],
    last: ["Smith", "Brown", "Wilson", "Campbell", "Kelly", "Martin", "White", "Young", "Clarke", "Ryan"],
    places: [["Brisbane", "Queensland"], ["Perth", "Western Australia"], ["Hobart", "Tasmania"], [
      "Geelong",
      "Victoria"
    ], ["Newcastle", "New South Wales"], ["Darwin", "Northern Territory"]],
    streets: ["George St", "King St", "Queen St", "Victoria Rd", "Spring St", "Hunter St"],
    postcode: (rng) => rng.int(2000, 7999),
    phone: "0#-####-####",
    cell: "04##-###-###",
    idName: "TFN",
    idValue: (rng) => rng.pattern("#########")
  },
  NL: {
    country: "Netherlands",
    male: ["Daan", "Sem", "Lucas", "Levi", "Finn", "Milan", "Bram", "Thijs", "Jesse", "Ruben"],
    female: ["Emma", "Julia", "Sophie", "Tess", "Fenna", "Sanne", "Lotte", "Anouk", "Noor", "Fleur"],
    last: ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos"],
    places: [["Utrecht", "Utrecht"], ["Haarlem", "Noord-Holland"], ["Groningen", "Groningen"], [
      "Eindhoven",
      "Noord-Brabant"
    ], ["Leiden", "Zuid-Holland"], ["Zwolle", "Overijssel"]],
    streets: ["Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Schoolstraat", "Beukenlaan"],
    postcode: (rng) => rng.pattern("#### @@").replace(/^0/, "1"),
    phone: "(0##) #######",
    cell: "(06) ########",
    idName: "BSN",
    // The real API often sends `null` here: consumers must cope with a missing id.
    idValue: (rng) => (rng.next() < 0.5 ? null : rng.pattern("########"))
  },
  CA: {
    country: "Canada",
    male: ["Liam", "Benjamin", "Logan", "Jacob", "Owen", "Nathan", "Samuel", "Alexander", "Ethan", "Félix"],
    female: ["Olivia", "Emma", "Charlotte", "Ava", "Alice", "Maya", "Chloé", "Abigail", "Florence", "Rosalie"],
    last: ["Tremblay", "Roy", "Gagnon", "Wilson", "MacDonald", "Côté", "Taylor", "Bouchard", "Campbell", "Lee"],
    places: [["Toronto", "Ontario"], ["Halifax", "Nova Scotia"], ["Calgary", "Alberta"], ["Québec", "Québec"], [
      "Winnipeg",
      "Manitoba"
    ], ["Victoria", "British Columbia"]],
    streets: ["Maple Ave", "Dufferin St", "King George Hwy", "Regent Ave", "Balmoral St", "Lakeshore Rd"],
    postcode: (rng) => rng.pattern("@#@ #@#"),
    phone: "###-###-####",
    cell: "###-###-####",
    idName: "SIN",
    idValue: (rng) => rng.pattern("#########")
  },
  BR: {
    country: "Brazil",
    male: ["Miguel", "Arthur", "Davi", "Gabriel", "Heitor", "Bernardo", "Pedro", "Lorenzo", "Rafael", "João"],
    female: ["Alice", "Sophia", "Helena", "Valentina", "Laura", "Isabella", "Manuela", "Júlia", "Luíza", "Beatriz"],
    last: ["Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes"],
    places: [["Campinas", "São Paulo"], ["Recife", "Pernambuco"], ["Curitiba", "Paraná"], ["Salvador", "Bahia"], [
      "Fortaleza",
      "Ceará"
    ], ["Manaus", "Amazonas"]],
    streets: ["Rua da Paz", "Rua São Jorge", "Avenida Brasil", "Rua Dois", "Rua Sete de Setembro", "Rua Principal"],
    postcode: (rng) => rng.pattern("#####-###"),
    phone: "(##) ####-####",
    cell: "(##) #####-####",
    idName: "CPF",
    idValue: (rng) => (rng.next() < 0.3 ? null : rng.pattern("###.###.###-##"))
  }
}

/** The nationalities the generator knows, in the order it draws them. */
export const supportedNationalities: ReadonlyArray<string> = Object.keys(nationalities)

const defaultTitles = { male: ["Mr"], female: ["Ms", "Mrs", "Miss"] } as const

const timezones: ReadonlyArray<readonly [offset: string, description: string]> = [
  ["-10:00", "Hawaii"],
  ["-8:00", "Pacific Time (US & Canada)"],
  ["-5:00", "Eastern Time (US & Canada), Bogota, Lima"],
  ["-3:00", "Brazil, Buenos Aires, Georgetown"],
  ["0:00", "Western Europe Time, London, Lisbon, Casablanca"],
  ["+1:00", "Brussels, Copenhagen, Madrid, Paris"],
  ["+2:00", "Kaliningrad, South Africa"],
  ["+3:30", "Tehran"],
  ["+5:30", "Bombay, Calcutta, Madras, New Delhi"],
  ["+8:00", "Beijing, Perth, Singapore, Hong Kong"],
  ["+9:00", "Tokyo, Seoul, Osaka, Sapporo, Yakutsk"],
  ["+10:00", "Eastern Australia, Guam, Vladivostok"]
]

const usernameWords = ["happy", "silver", "brown", "lazy", "heavy", "tiny", "angry", "crazy", "red", "blue"] as const
const usernameNouns = ["tiger", "koala", "swan", "bird", "lion", "fish", "goose", "rabbit", "ladybug", "panda"] as const
const passwords = ["sunshine", "dragon", "monkey", "letmein", "shadow", "master", "qwerty", "freedom", "hunter", "cookie"]
const saltAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// --- Generation -------------------------------------------------------------------------

const normalizeNat = (nat: PageOptions["nat"]): ReadonlyArray<string> => {
  const requested = (typeof nat === "string" ? nat.split(",") : nat ?? [])
    .map((n) => n.trim().toUpperCase())
    .filter((n) => n in nationalities)
  // Deduplicated and sorted, so "FR,US" and "us,fr" draw the same users.
  const unique = Array.from(new Set(requested)).sort()
  return unique.length > 0 ? unique : supportedNationalities
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")

// RFC 4122 version-4 layout: 122 random bits, version nibble 4, variant bits 10.
const uuidV4 = (rng: Rng): string => {
  const bytes = Array.from({ length: 16 }, () => rng.int(0, 255))
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const h = bytes.map((b) => hex(b, 2)).join("")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const digest = (algorithm: string, text: string) => createHash(algorithm).update(text).digest("hex")

// Emails are ASCII, as the API sends them: "Léa Müller" → "lea.muller".
const emailPart = (s: string) =>
  s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "")

const yearMs = 365.25 * 24 * 60 * 60 * 1000

// Whole calendar years from `from` to the reference date, the way people count age.
const ageAt = (from: Date): number => {
  const ref = referenceDate
  let age = ref.getUTCFullYear() - from.getUTCFullYear()
  const beforeBirthday = ref.getUTCMonth() < from.getUTCMonth() ||
    (ref.getUTCMonth() === from.getUTCMonth() && ref.getUTCDate() < from.getUTCDate())
  if (beforeBirthday) age--
  return age
}

const coordinate = (rng: Rng, max: number) => ((rng.next() * 2 - 1) * max).toFixed(4)

/**
 * User number `n` (0-based) of `seed`, drawn from the given nationalities (all known ones
 * when empty or absent). The same arguments always give the same user.
 */
export const generateUser = (options: {
  readonly seed: string
  readonly n: number
  readonly nat?: PageOptions["nat"]
}): RandomUser.UserJson => {
  const nats = normalizeNat(options.nat)
  // The nat filter is part of the key: the API's filtered pages are different people.
  const rng = makeRng(`${options.seed}:${nats.join(",")}:${options.n}`)
  const natCode = rng.pick(nats)
  const nat = nationalities[natCode]!
  const gender = rng.next() < 0.5 ? "male" : "female"
  const first = rng.pick(gender === "male" ? nat.male : nat.female)
  const last = rng.pick(nat.last)
  const title = rng.pick((nat.titles ?? defaultTitles)[gender])
  const [city, state] = rng.pick(nat.places)
  const [offset, description] = rng.pick(timezones)

  const refMs = referenceDate.getTime()
  const dob = new Date(refMs - (18 + rng.next() * 62) * yearMs)
  // Registered as an adult, within the last 21 years, and at least a day before "now".
  const earliest = Math.max(dob.getTime() + 18 * yearMs, refMs - 21 * yearMs)
  const registered = new Date(earliest + rng.next() * (refMs - 86_400_000 - earliest))

  const password = rng.pick(passwords)
  const salt = Array.from({ length: 8 }, () => saltAlphabet[rng.int(0, saltAlphabet.length - 1)]).join("")
  const salted = password + salt
  const portrait = rng.int(0, 99)
  const folder = gender === "male" ? "men" : "women"

  return {
    gender,
    name: { title, first, last },
    location: {
      street: { number: rng.int(1, 9999), name: rng.pick(nat.streets) },
      city,
      state,
      country: nat.country,
      postcode: nat.postcode(rng),
      coordinates: { latitude: coordinate(rng, 90), longitude: coordinate(rng, 180) },
      timezone: { offset, description }
    },
    email: `${emailPart(first)}.${emailPart(last)}@example.com`,
    login: {
      uuid: uuidV4(rng),
      username: `${rng.pick(usernameWords)}${rng.pick(usernameNouns)}${rng.int(100, 999)}`,
      password,
      salt,
      md5: digest("md5", salted),
      sha1: digest("sha1", salted),
      sha256: digest("sha256", salted)
    },
    dob: { date: dob.toISOString(), age: ageAt(dob) },
    registered: { date: registered.toISOString(), age: ageAt(registered) },
    phone: rng.pattern(nat.phone),
    cell: rng.pattern(nat.cell),
    id: { name: nat.idName, value: nat.idValue(rng) },
    picture: {
      large: `https://randomuser.me/api/portraits/${folder}/${portrait}.jpg`,
      medium: `https://randomuser.me/api/portraits/med/${folder}/${portrait}.jpg`,
      thumbnail: `https://randomuser.me/api/portraits/thumb/${folder}/${portrait}.jpg`
    },
    nat: natCode
  }
}

/** One page of a seed: users `(page-1)*results` … `page*results-1`, in order. */
export const generatePage = (options: PageOptions): ReadonlyArray<RandomUser.UserJson> =>
  Array.from(
    { length: options.results },
    (_, i) => generateUser({ seed: options.seed, n: userNumberOf(options.page, options.results, i), nat: options.nat })
  )
