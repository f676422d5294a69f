/**
 * The README's code is real code: every block marked `<!-- verbatim: <file> -->` must
 * appear, character for character, in that file (which CI compiles and runs), once the
 * repository's relative imports are written as a user writes them ("pandaflow",
 * "pandaflow/layers", "pandaflow/testing").
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

const readme = readFileSync("README.md", "utf8")
const asUserWrites = (source: string) =>
  source
    .replaceAll(/from "(\.\.\/)+src\/index\.js"/g, "from \"pandaflow\"")
    .replaceAll(/from "(\.\.\/)+layers\/index\.js"/g, "from \"pandaflow/layers\"")
    .replaceAll(/from "(\.\.\/)+layers\/testing\.js"/g, "from \"pandaflow/testing\"")

const blocks = [...readme.matchAll(/<!-- verbatim: (\S+) -->\n```ts\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, code: m[2]! }))

describe("README code blocks", () => {
  it("there are verbatim blocks to check", () => {
    expect(blocks.map((b) => b.file)).toEqual(["examples/orders/pipeline.ts", "test/package/host/src/embed.ts"])
  })
  for (const { code, file } of blocks) {
    it(`the block from ${file} is in the file as it stands`, () => {
      const source = asUserWrites(readFileSync(file, "utf8"))
      expect(source.includes(code), `README's copy of ${file} differs from the file: update the README`).toBe(true)
    })
  }
})
