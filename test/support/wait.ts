/** Waiting in tests that drive real processes and services: real time, polled. */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export const waitUntil = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
