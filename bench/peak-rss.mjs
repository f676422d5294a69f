// Preloaded into a child run (`node --import`): prints its peak RSS and CPU seconds on exit.
process.on("exit", () => {
  const u = process.resourceUsage()
  process.stderr.write(`bench-figures ${JSON.stringify({ peakRssMiB: u.maxRSS / 1024, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 })}\n`)
})
