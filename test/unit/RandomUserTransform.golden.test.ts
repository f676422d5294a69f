/**
 * Golden tests of the randomuser transform: four API users written out literally, and
 * the exact rows each must become, written by hand (not computed with `fromUser`). They
 * run through the real reference pipeline on the test driver, so what is checked is what
 * the Postgres table (`UserRow`) and the Cassandra table (`ClassicRow`) would hold.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import type { ClassicRow, UserRow } from "../../examples/randomuser/UserRow.js"
import type { RandomUser } from "../../layers/index.js"
import { TestDriver } from "../../layers/testing.js"

// A numeric postcode (US).
const numericPostcode: RandomUser.User = {
  gender: "female",
  name: { title: "Ms", first: "Jennie", last: "Nichols" },
  location: {
    street: { number: 8929, name: "Valwood Pkwy" },
    city: "Billings",
    state: "Michigan",
    country: "United States",
    postcode: 63104,
    coordinates: { latitude: "-69.8246", longitude: "134.8719" },
    timezone: { offset: "+9:30", description: "Adelaide, Darwin" }
  },
  email: "jennie.nichols@example.com",
  login: {
    uuid: "1b7a3f2e-6d1c-4e8a-9f0b-2c3d4e5f6a7b",
    username: "yellowpeacock117",
    password: "addison",
    salt: "sld1yGtd",
    md5: "ab54ac4c0be9480ae8fa5e9e2a5196a3",
    sha1: "edcf2ce613cbdea349133c52dc2f3b83168dc51b",
    sha256: "48df5229235ada28389b91e60a935e4f9b73eb4bdb855ef9258a1751f10bdc5d"
  },
  dob: { date: "1992-03-08T15:13:16.688Z", age: 30 },
  registered: { date: "2007-07-09T05:51:59.390Z", age: 14 },
  phone: "(272) 790-0888",
  cell: "(489) 330-2385",
  id: { name: "SSN", value: "405-88-3636" },
  picture: {
    large: "https://randomuser.me/api/portraits/women/75.jpg",
    medium: "https://randomuser.me/api/portraits/med/women/75.jpg",
    thumbnail: "https://randomuser.me/api/portraits/thumb/women/75.jpg"
  },
  nat: "US"
}

// A string postcode (GB), and an `id.value` of null.
const stringPostcode: RandomUser.User = {
  gender: "male",
  name: { title: "Mr", first: "Oliver", last: "Hughes" },
  location: {
    street: { number: 42, name: "Station Road" },
    city: "Truro",
    state: "Cornwall",
    country: "United Kingdom",
    postcode: "TR1 2AB",
    coordinates: { latitude: "50.2632", longitude: "-5.0510" },
    timezone: { offset: "0:00", description: "Western Europe Time, London, Lisbon, Casablanca" }
  },
  email: "oliver.hughes@example.co.uk",
  login: {
    uuid: "2c8b4a3f-7e2d-4f9b-a01c-3d4e5f6a7b8c",
    username: "bluebird552",
    password: "lionking",
    salt: "Zx9kLm2q",
    md5: "0c1d2e3f405162738495a6b7c8d9e0f1",
    sha1: "1f2e3d4c5b6a79880716253443526170819a0b1c",
    sha256: "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"
  },
  dob: { date: "1985-11-21T02:04:10.000Z", age: 39 },
  registered: { date: "2015-01-30T18:22:41.512Z", age: 10 },
  phone: "016973 12345",
  cell: "07700 900123",
  id: { name: "NINO", value: null },
  picture: {
    large: "https://randomuser.me/api/portraits/men/12.jpg",
    medium: "https://randomuser.me/api/portraits/med/men/12.jpg",
    thumbnail: "https://randomuser.me/api/portraits/thumb/men/12.jpg"
  },
  nat: "GB"
}

// Mixed-case uuid, an email with spaces and capitals, names with spaces around them.
const messy: RandomUser.User = {
  gender: "female",
  name: { title: "Mme", first: "  Élodie ", last: " Fontaine  " },
  location: {
    street: { number: 7, name: "Rue de la Paix" },
    city: "Lyon",
    state: "Rhône",
    country: "France",
    postcode: 69002,
    coordinates: { latitude: "45.7578", longitude: "4.8320" },
    timezone: { offset: "+1:00", description: "Brussels, Copenhagen, Madrid, Paris" }
  },
  email: "  Elodie.Fontaine@Example.FR ",
  login: {
    uuid: "3D9C5B4A-8F3E-4A0C-B12D-4E5F6A7B8C9D",
    username: "silverfox303",
    password: "soleil",
    salt: "Qw3rTy7u",
    md5: "f1e0d9c8b7a695847362514031201f0e",
    sha1: "a0b1c2d3e4f5061728394a5b6c7d8e9f00112233",
    sha256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
  },
  dob: { date: "1990-06-15T12:00:00.000Z", age: 35 },
  registered: { date: "2012-04-03T09:30:00.000Z", age: 13 },
  phone: "04-72-11-22-33",
  cell: "06-12-34-56-78",
  id: { name: "INSEE", value: "2900669123456 78" },
  picture: {
    large: "https://randomuser.me/api/portraits/women/3.jpg",
    medium: "https://randomuser.me/api/portraits/med/women/3.jpg",
    thumbnail: "https://randomuser.me/api/portraits/thumb/women/3.jpg"
  },
  nat: "FR"
}

// Registered late on New Year's Eve west of UTC: the derived year is the UTC one (2005),
// while registered_date keeps the API's string as it came.
const newYearsEve: RandomUser.User = {
  gender: "male",
  name: { title: "Sr", first: "Mateo", last: "Silva" },
  location: {
    street: { number: 1500, name: "Avenida Paulista" },
    city: "São Paulo",
    state: "São Paulo",
    country: "Brazil",
    postcode: "01310-100",
    coordinates: { latitude: "-23.5614", longitude: "-46.6559" },
    timezone: { offset: "-3:00", description: "Brazil, Buenos Aires, Georgetown" }
  },
  email: "mateo.silva@example.com.br",
  login: {
    uuid: "4eadc6b5-9a4f-4b1d-8c3e-5f6a7b8c9d0e",
    username: "greenfrog808",
    password: "futebol",
    salt: "Pl0kMn8b",
    md5: "11223344556677889900aabbccddeeff",
    sha1: "ffeeddccbbaa00998877665544332211ffeeddcc",
    sha256: "ffeeddccbbaa00998877665544332211ffeeddccbbaa00998877665544332211"
  },
  dob: { date: "1979-02-28T23:59:59.000Z", age: 46 },
  registered: { date: "2004-12-31T23:30:00.000-02:00", age: 20 },
  phone: "(11) 3456-7890",
  cell: "(11) 98765-4321",
  id: { name: "CPF", value: "123.456.789-09" },
  picture: {
    large: "https://randomuser.me/api/portraits/men/88.jpg",
    medium: "https://randomuser.me/api/portraits/med/men/88.jpg",
    thumbnail: "https://randomuser.me/api/portraits/thumb/men/88.jpg"
  },
  nat: "BR"
}

// The Postgres table, ordered by id.
const expectedUserRows: ReadonlyArray<UserRow> = [
  {
    id: "1b7a3f2e-6d1c-4e8a-9f0b-2c3d4e5f6a7b",
    first_name: "Jennie",
    last_name: "Nichols",
    gender: "female",
    address: "8929 Valwood Pkwy, Billings, Michigan, United States",
    post_code: "63104",
    email: "jennie.nichols@example.com",
    username: "yellowpeacock117",
    registered_date: "2007-07-09T05:51:59.390Z",
    phone: "(272) 790-0888",
    picture: "https://randomuser.me/api/portraits/med/women/75.jpg",
    email_domain: "example.com",
    registered_year: 2007
  },
  {
    id: "2c8b4a3f-7e2d-4f9b-a01c-3d4e5f6a7b8c",
    first_name: "Oliver",
    last_name: "Hughes",
    gender: "male",
    address: "42 Station Road, Truro, Cornwall, United Kingdom",
    post_code: "TR1 2AB",
    email: "oliver.hughes@example.co.uk",
    username: "bluebird552",
    registered_date: "2015-01-30T18:22:41.512Z",
    phone: "016973 12345",
    picture: "https://randomuser.me/api/portraits/med/men/12.jpg",
    email_domain: "example.co.uk",
    registered_year: 2015
  },
  {
    id: "3d9c5b4a-8f3e-4a0c-b12d-4e5f6a7b8c9d",
    first_name: "Élodie",
    last_name: "Fontaine",
    gender: "female",
    address: "7 Rue de la Paix, Lyon, Rhône, France",
    post_code: "69002",
    email: "elodie.fontaine@example.fr",
    username: "silverfox303",
    registered_date: "2012-04-03T09:30:00.000Z",
    phone: "04-72-11-22-33",
    picture: "https://randomuser.me/api/portraits/med/women/3.jpg",
    email_domain: "example.fr",
    registered_year: 2012
  },
  {
    id: "4eadc6b5-9a4f-4b1d-8c3e-5f6a7b8c9d0e",
    first_name: "Mateo",
    last_name: "Silva",
    gender: "male",
    address: "1500 Avenida Paulista, São Paulo, São Paulo, Brazil",
    post_code: "01310-100",
    email: "mateo.silva@example.com.br",
    username: "greenfrog808",
    registered_date: "2004-12-31T23:30:00.000-02:00",
    phone: "(11) 3456-7890",
    picture: "https://randomuser.me/api/portraits/med/men/88.jpg",
    email_domain: "example.com.br",
    registered_year: 2005
  }
]

// The Cassandra table `created_users`: the classic pipeline's columns only.
const expectedClassicRows: ReadonlyArray<ClassicRow> = [
  {
    id: "1b7a3f2e-6d1c-4e8a-9f0b-2c3d4e5f6a7b",
    first_name: "Jennie",
    last_name: "Nichols",
    gender: "female",
    address: "8929 Valwood Pkwy, Billings, Michigan, United States",
    post_code: "63104",
    email: "jennie.nichols@example.com",
    username: "yellowpeacock117",
    registered_date: "2007-07-09T05:51:59.390Z",
    phone: "(272) 790-0888",
    picture: "https://randomuser.me/api/portraits/med/women/75.jpg"
  },
  {
    id: "2c8b4a3f-7e2d-4f9b-a01c-3d4e5f6a7b8c",
    first_name: "Oliver",
    last_name: "Hughes",
    gender: "male",
    address: "42 Station Road, Truro, Cornwall, United Kingdom",
    post_code: "TR1 2AB",
    email: "oliver.hughes@example.co.uk",
    username: "bluebird552",
    registered_date: "2015-01-30T18:22:41.512Z",
    phone: "016973 12345",
    picture: "https://randomuser.me/api/portraits/med/men/12.jpg"
  },
  {
    id: "3d9c5b4a-8f3e-4a0c-b12d-4e5f6a7b8c9d",
    first_name: "Élodie",
    last_name: "Fontaine",
    gender: "female",
    address: "7 Rue de la Paix, Lyon, Rhône, France",
    post_code: "69002",
    email: "elodie.fontaine@example.fr",
    username: "silverfox303",
    registered_date: "2012-04-03T09:30:00.000Z",
    phone: "04-72-11-22-33",
    picture: "https://randomuser.me/api/portraits/med/women/3.jpg"
  },
  {
    id: "4eadc6b5-9a4f-4b1d-8c3e-5f6a7b8c9d0e",
    first_name: "Mateo",
    last_name: "Silva",
    gender: "male",
    address: "1500 Avenida Paulista, São Paulo, São Paulo, Brazil",
    post_code: "01310-100",
    email: "mateo.silva@example.com.br",
    username: "greenfrog808",
    registered_date: "2004-12-31T23:30:00.000-02:00",
    phone: "(11) 3456-7890",
    picture: "https://randomuser.me/api/portraits/med/men/88.jpg"
  }
]

it.effect("four API users become exactly the hand-written Postgres and Cassandra rows", () =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(RandomUserPipeline.make())
    yield* driver.send([newYearsEve, messy, numericPostcode, stringPostcode])
    const snapshot = yield* driver.run
    expect(snapshot).toMatchObject({ processed: 4, deadLettered: 0 })
    expect(yield* driver.rows("postgres")).toEqual(expectedUserRows)
    expect(yield* driver.rows("cassandra")).toEqual(expectedClassicRows)
    expect(yield* driver.deadLetters).toEqual([])
  }))
