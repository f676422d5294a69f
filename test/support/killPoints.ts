/**
 * Kill points of the crash scenarios, chosen from record counts (never from wall-clock
 * timing), so the same seed gives the same kill points on every run. A worker life
 * (test/reliability/worker.ts, `WORKER_KILL_AT`) SIGKILLs itself the moment its own count
 * of the point's phase reaches the point's count.
 */
import { prng } from "./prng.js"

/**
 * What a life counts: records handed out by the broker (`received`: fetched, nothing
 * written), rows a sink has written (`postgres`, `cassandra`: the batch is half-written,
 * or written and not committed), dead letters produced (`deadletter`: sent, not
 * committed), records committed (`committed`).
 */
export type KillPhase = "received" | "postgres" | "cassandra" | "deadletter" | "committed"

/** Every kill phase. */
export const killPhases: ReadonlyArray<KillPhase> = ["received", "postgres", "cassandra", "deadletter", "committed"]

/** A life's kill point: the first moment its count of `phase` reaches `count`. */
export interface KillPoint {
  readonly count: number
  readonly phase: KillPhase
}

/** `WORKER_KILL_AT`'s value for a kill point. */
export const formatKillPoint = (k: KillPoint): string => `${k.count}:${k.phase}`

/** Reads `WORKER_KILL_AT` (`""`: no kill point). */
export const parseKillPoint = (s: string): KillPoint | undefined => {
  if (s === "") return undefined
  const [count, phase] = s.split(":")
  if (!killPhases.includes(phase as KillPhase) || !/^[1-9][0-9]*$/.test(count ?? "")) {
    throw new Error(`WORKER_KILL_AT must be <count>:<${killPhases.join("|")}>, got ${s}`)
  }
  return { count: Number(count), phase: phase as KillPhase }
}

/**
 * `kills` kill points from `seed`: each a count in `[min, max)` and a phase. A
 * `deadletter` point's count is small (1 or 2): a life sees few bad records. The
 * phases rotate from a seeded start, so every phase is hit when `kills ≥ 5`.
 */
export const killSchedule = (seed: number, kills: number, range: { readonly min: number; readonly max: number }): ReadonlyArray<KillPoint> => {
  const random = prng(seed)
  const first = Math.floor(random() * killPhases.length)
  return Array.from({ length: kills }, (_, k) => {
    const phase = killPhases[(first + k) % killPhases.length]!
    const count = phase === "deadletter" ? 1 + Math.floor(random() * 2) : range.min + Math.floor(random() * (range.max - range.min))
    return { count, phase }
  })
}
