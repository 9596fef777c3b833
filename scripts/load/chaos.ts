import { writeFileSync } from 'node:fs'
import { EmulatorUnavailableError } from '../../src/local/emulator.js'
import { startLoadEmulators, type LoadEmulators } from './app-process.js'
import { CHAOS_USAGE, parseChaosArgs, type ChaosOptions } from './chaos-options.js'
import { formatChaosReport, runChaos } from './chaos-run.js'
import { LoadUsageError } from './options.js'

// `npm run chaos`: npm run load's workload while faults are injected on a schedule, then the
// invariants over every payment in the table. Exits 1 if any invariant fails; Ctrl-C stops.

function say (text: string): void {
  process.stderr.write(`${text}\n`)
}

async function main (): Promise<number> {
  // The AWS SDK warns on Node 20 about its releases after January 2027 (the README says which Node is tested).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  let options: ChaosOptions | undefined
  try {
    options = parseChaosArgs(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof LoadUsageError)) throw error
    process.stderr.write(`chaos: ${error.message}\n${CHAOS_USAGE}`)
    return 2
  }
  if (options === undefined) {
    process.stdout.write(CHAOS_USAGE)
    return 0
  }

  const abort = new AbortController()
  let emulators: LoadEmulators | undefined
  const interrupt = (): void => {
    if (abort.signal.aborted) {
      say('chaos: second interrupt, exiting now')
      process.exit(130)
    }
    say('chaos: interrupted, stopping')
    abort.abort()
  }
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)
  try {
    say(`chaos: starting the emulators (${options.load.dynamodb}, moto for SQS)`)
    emulators = await startLoadEmulators({ dynamodb: options.load.dynamodb })
    if (abort.signal.aborted) return 130
    say('chaos: starting the app (node --import tsx src/server.ts) with LOCAL_FAULTS_FILE and SANDBOX_LEDGER_FILE')
    let last = 0
    const report = await runChaos({
      options,
      emulatorEnv: emulators.env,
      signal: abort.signal,
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
    if (abort.signal.aborted) return 130
    return report.invariantsHeld === report.invariants.length ? 0 : 1
  } catch (error) {
    say(`chaos: ${error instanceof EmulatorUnavailableError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error)}`)
    return 1
  } finally {
    await emulators?.stop()
  }
}

process.exitCode = await main()
