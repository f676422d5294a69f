/**
 * A tiny randomuser.me API for tests: user fixtures written by hand from the documented
 * v1.4 shape, and a node:http server on 127.0.0.1 answering with them (the source's
 * integration tests and the CLI's end-to-end tests share it).
 */
import { Effect } from "effect"
import * as http from "node:http"
import type * as RandomUser from "../../layers/RandomUser.js"

// --- Fixtures, written by hand from the documented v1.4 shape --------------------------

export const user = (uuid: string, first: string, last: string): RandomUser.UserJson => ({
  gender: "female",
  name: { title: "Ms", first, last },
  location: {
    street: { number: 4021, name: "Pecan Acres Ln" },
    city: "Austin",
    state: "Texas",
    country: "United States",
    postcode: 73301,
    coordinates: { latitude: "30.2672", longitude: "-97.7431" },
    timezone: { offset: "-6:00", description: "Central Time (US & Canada), Mexico City" }
  },
  email: `${first.toLowerCase()}.${last.toLowerCase()}@example.com`,
  login: {
    uuid,
    username: `${first.toLowerCase()}123`,
    password: "hunter2",
    salt: "abcdefgh",
    md5: "0123456789abcdef0123456789abcdef",
    sha1: "0123456789abcdef0123456789abcdef01234567",
    sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  },
  dob: { date: "1990-04-01T10:00:00.000Z", age: 34 },
  registered: { date: "2015-06-15T08:30:00.000Z", age: 9 },
  phone: "(512) 555-0100",
  cell: "(512) 555-0101",
  id: { name: "SSN", value: null },
  picture: {
    large: "https://randomuser.me/api/portraits/women/1.jpg",
    medium: "https://randomuser.me/api/portraits/med/women/1.jpg",
    thumbnail: "https://randomuser.me/api/portraits/thumb/women/1.jpg"
  },
  nat: "US"
})

export const ada = user("0b6e8f3c-1d2a-4c5b-9e7f-a1b2c3d4e5f6", "Ada", "Lovelace")
export const grace = user("1c7f9a4d-2e3b-4d6c-8f90-b2c3d4e5f6a7", "Grace", "Hopper")
export const joan = user("2d8a0b5e-3f4c-4e7d-9a01-c3d4e5f6a7b8", "Joan", "Clarke")
// login.uuid missing: no key to read.
const { uuid: _dropped, ...loginWithoutUuid } = user("x", "No", "Uuid").login
export const noUuid = { ...user("x", "No", "Uuid"), login: loginWithoutUuid }
// A v1.4 user but for the legacy flat street, as versions before 1.1 sent it.
export const flatStreetUuid = "3e9b1c6f-4a5d-4f8e-8b12-d4e5f6a7b8c9"
export const flatStreet = { ...user(flatStreetUuid, "Flat", "Street"), location: { ...ada.location, street: "12 Main St" } }

// A legacy (1.0-style) user: flat street, flat dates, no coordinates or timezone.
export const legacyUser = {
  gender: "male",
  name: { title: "mr", first: "old", last: "shape" },
  location: { street: "1234 main st", city: "austin", state: "texas", postcode: 73301 },
  email: "old.shape@example.com",
  login: { username: "old123", password: "hunter2", salt: "abc", md5: "x", sha1: "y", sha256: "z" },
  dob: "1983-07-14 07:29:45",
  registered: "2010-03-01 10:00:00",
  phone: "(512) 555-0102",
  cell: "(512) 555-0103",
  id: { name: "SSN", value: "123-45-6789" },
  picture: { large: "l", medium: "m", thumbnail: "t" },
  nat: "US"
}

// --- A tiny node:http API on 127.0.0.1 ---------------------------------------------------

export interface Asked {
  readonly results: number
  readonly seed: string
  readonly page: number
}

export interface Served {
  /** Base URL, pinned like the real one. */
  readonly url: string
  /** The query of every request so far. */
  readonly requests: ReadonlyArray<Asked>
}

export const asked = (req: http.IncomingMessage): Asked => {
  const q = new URL(req.url ?? "/", "http://x").searchParams
  return { results: Number(q.get("results")), seed: q.get("seed") ?? "", page: Number(q.get("page")) }
}

export const sendJson = (res: http.ServerResponse, body: unknown, status = 200) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/** An answer as the API gives it: `results` and an `info` echoing the request (overridable). */
export const page = (q: Asked, results: ReadonlyArray<unknown>, info: Partial<Record<string, unknown>> = {}) => ({
  results,
  info: { seed: q.seed, results: results.length, page: q.page, version: "1.4", ...info }
})

/** Serves `handle` on a free port of 127.0.0.1 for the enclosing scope. */
export const serve = (handle: (req: http.IncomingMessage, res: http.ServerResponse, q: Asked, hit: number) => void) =>
  Effect.acquireRelease(
    Effect.async<Served & { readonly server: http.Server }>((resume) => {
      const requests: Array<Asked> = []
      const server = http.createServer((req, res) => {
        const q = asked(req)
        requests.push(q)
        handle(req, res, q, requests.length)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}/api/1.4/`, requests }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
