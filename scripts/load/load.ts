import { writeFileSync } from 'node:fs'
import { startAppProcess } from './app-process.js'
import { runLoadCli } from './cli.js'
import { LOAD_USAGE, parseLoadArgs } from './options.js'
import { formatReport } from './report.js'
import { runLoad } from './run-load.js'
import type { WorkloadProgress } from './workload.js'

// `npm run load`: emulators, then the app as `npm start` runs it, then a mixed open-loop
// workload at a target rate, a bounded drain, and a report. Ctrl-C stops everything.

/** One progress line: elapsed, sent, req/s over the last second, errors, in flight. */
function progressLine (progress: WorkloadProgress, previous: WorkloadProgress | undefined): string {
  const seconds = (progress.elapsedMs - (previous?.elapsedMs ?? 0)) / 1000
  const rate = seconds > 0 ? (progress.sent - (previous?.sent ?? 0)) / seconds : 0
  return `${(progress.elapsedMs / 1000).toFixed(1).padStart(6)}s  sent ${String(progress.sent).padStart(6)}  ${rate.toFixed(1).padStart(6)} req/s  errors ${String(progress.errors).padStart(5)}  in flight ${String(progress.inFlight).padStart(4)}${progress.shed > 0 ? `  shed ${progress.shed}` : ''}`
}

process.exitCode = await runLoadCli({
  name: 'load',
  usage: LOAD_USAGE,
  parse: parseLoadArgs,
  dynamodb: (options) => options.dynamodb,
  run: async (options, { emulators, signal, say }) => {
    say('load: starting the app (node --import tsx src/server.ts)')
    const app = await startAppProcess({ emulatorEnv: emulators.env })
    try {
      if (signal.aborted) return 130
      say(`load: ${app.url} is ready; ${options.rate} req/s for ${options.durationMs / 1000} s, then up to ${options.drainMs / 1000} s for the payments to settle`)
      let previous: WorkloadProgress | undefined
      const { report } = await runLoad({
        app,
        options,
        signal,
        onProgress: (progress) => { say(progressLine(progress, previous)); previous = progress },
        onDrain: (unsettled, elapsedMs) => { say(`  drain ${(elapsedMs / 1000).toFixed(1).padStart(5)}s  ${unsettled} payments not settled yet`) }
      })
      process.stdout.write(formatReport(report))
      if (options.jsonPath !== undefined) {
        writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`)
        say(`load: the report is in ${options.jsonPath}`)
      }
      if (options.appLogPath !== undefined) {
        writeFileSync(options.appLogPath, app.lines().map((line) => `${JSON.stringify(line)}\n`).join(''))
        say(`load: the app's log is in ${options.appLogPath}`)
      }
      return 0
    } finally {
      await app.stop()
    }
  }
})
