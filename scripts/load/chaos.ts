import { writeFileSync } from 'node:fs'
import { CHAOS_USAGE, parseChaosArgs } from './chaos-options.js'
import { formatChaosReport, runChaos } from './chaos-run.js'
import { runLoadCli } from './cli.js'

// `npm run chaos`: npm run load's workload while faults are injected on a schedule, then the
// invariants over every payment in the table. Exits 1 if any invariant fails; Ctrl-C stops.

process.exitCode = await runLoadCli({
  name: 'chaos',
  usage: CHAOS_USAGE,
  parse: parseChaosArgs,
  dynamodb: (options) => options.load.dynamodb,
  run: async (options, { emulators, signal, say }) => {
    say('chaos: starting the app (node --import tsx src/server.ts) with LOCAL_FAULTS_FILE and SANDBOX_LEDGER_FILE')
    let last = 0
    const report = await runChaos({
      options,
      emulatorEnv: emulators.env,
      signal,
      say,
      onProgress: (progress) => {
        if (progress.elapsedMs - last < 5_000) return
        last = progress.elapsedMs
        say(`${(progress.elapsedMs / 1000).toFixed(0).padStart(5)}s  sent ${String(progress.sent).padStart(6)}  errors ${String(progress.errors).padStart(5)}  in flight ${String(progress.inFlight).padStart(4)}${progress.shed > 0 ? `  shed ${progress.shed}` : ''}`)
      }
    })
    process.stdout.write(formatChaosReport(report))
    if (options.load.jsonPath !== undefined) {
      writeFileSync(options.load.jsonPath, `${JSON.stringify(report, null, 2)}\n`)
      say(`chaos: the report is in ${options.load.jsonPath}`)
    }
    return report.invariantsHeld === report.invariants.length ? 0 : 1
  }
})
