import { writeFileSync } from 'node:fs'
import { EmulatorUnavailableError } from '../../src/local/emulator.js'
import { startAppProcess, startLoadEmulators, type LoadEmulators } from './app-process.js'
import { LOAD_USAGE, LoadUsageError, parseLoadArgs, type LoadOptions } from './options.js'
import { formatReport } from './report.js'
import { runLoad } from './run-load.js'
import type { AppProcess } from './types.js'
import type { WorkloadProgress } from './workload.js'

// `npm run load`: emulators, then the app as `npm start` runs it, then a mixed open-loop
// workload at a target rate, a bounded drain, and a report. Ctrl-C stops everything.

/** One progress line: elapsed, sent, req/s over the last second, errors, in flight. */
function progressLine (progress: WorkloadProgress, previous: WorkloadProgress | undefined): string {
  const seconds = (progress.elapsedMs - (previous?.elapsedMs ?? 0)) / 1000
  const rate = seconds > 0 ? (progress.sent - (previous?.sent ?? 0)) / seconds : 0
  return `${(progress.elapsedMs / 1000).toFixed(1).padStart(6)}s  sent ${String(progress.sent).padStart(6)}  ${rate.toFixed(1).padStart(6)} req/s  errors ${String(progress.errors).padStart(5)}  in flight ${String(progress.inFlight).padStart(4)}${progress.shed > 0 ? `  shed ${progress.shed}` : ''}`
}

function say (text: string): void {
  process.stderr.write(`${text}\n`)
}

async function main (): Promise<number> {
  // The AWS SDK warns on Node 20 about its releases after January 2027 (the README says which Node is tested).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  let options: LoadOptions | undefined
  try {
    options = parseLoadArgs(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof LoadUsageError)) throw error
    process.stderr.write(`load: ${error.message}\n${LOAD_USAGE}`)
    return 2
  }
  if (options === undefined) {
    process.stdout.write(LOAD_USAGE)
    return 0
  }

  const abort = new AbortController()
  let emulators: LoadEmulators | undefined
  let app: AppProcess | undefined
  const interrupt = (): void => {
    if (abort.signal.aborted) {
      say('load: second interrupt, exiting now')
      process.exit(130)
    }
    say('load: interrupted, stopping')
    abort.abort()
  }
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)
  try {
    say(`load: starting the emulators (${options.dynamodb}, moto for SQS)`)
    emulators = await startLoadEmulators({ dynamodb: options.dynamodb })
    if (abort.signal.aborted) return 130
    say('load: starting the app (node --import tsx src/server.ts)')
    app = await startAppProcess({ emulatorEnv: emulators.env })
    if (abort.signal.aborted) return 130
    say(`load: ${app.url} is ready; ${options.rate} req/s for ${options.durationMs / 1000} s, then up to ${options.drainMs / 1000} s for the payments to settle`)
    let previous: WorkloadProgress | undefined
    const { report } = await runLoad({
      app,
      options,
      signal: abort.signal,
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
    return abort.signal.aborted ? 130 : 0
  } catch (error) {
    // A missing emulator is one line that says what to install; anything else keeps its stack.
    say(`load: ${error instanceof EmulatorUnavailableError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error)}`)
    return 1
  } finally {
    await app?.stop()
    await emulators?.stop()
  }
}

process.exitCode = await main()
