/**
 * Where the real services are. Tests that claim a real service fail, never skip, when
 * its address is missing: run them through `pnpm test`, which starts the services.
 */
export const requireEnv = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: start the services with \`pnpm services:up\` and \`source .pandaflow/env\`, or run \`pnpm test\``)
  }
  return value
}

/** A name no earlier run used: topics and groups outlive a test on a real broker. */
export const unique = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
