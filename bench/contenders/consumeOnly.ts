/** The client ceiling: kafkajs consume + commit only, no decode, no write. */
import { args } from "../child.js"
import * as Loop from "./kafkaLoop.js"

export const main = (): Promise<import("../child.js").ChildFigures> =>
  Loop.run(args(), { name: "kafkajs consume + commit only", concurrency: 3, handle: async () => {} })
