import { EmulatorUnavailableError } from '../../src/local/emulator.js'
import { startLoadEmulators, type LoadEmulators } from './app-process.js'
import { LoadUsageError, type LoadDynamoDb } from './options.js'

/** A command-line tool of scripts/load (`npm run load`, `npm run chaos`): what differs between them. */
export interface LoadCli<O> {
  /** The tool's name, the first word of each line it writes. */
  name: string
  usage: string
  /** The options the arguments give, or undefined for `--help`; throws LoadUsageError. */
  parse: (args: string[]) => O | undefined
  /** Which DynamoDB emulator the options ask for. */
  dynamodb: (options: O) => LoadDynamoDb
  /** The run itself, with the emulators up: returns the exit code. */
  run: (options: O, tool: { emulators: LoadEmulators, signal: AbortSignal, say: (text: string) => void }) => Promise<number>
}

/**
 * Runs a load tool as both share it: arguments (2 and the usage on a bad one), the emulators
 * started and always stopped, Ctrl-C once to stop (exit 130), twice to exit now, and an error
 * as one line when an emulator is missing (what to install), with its stack otherwise (exit 1).
 */
export async function runLoadCli<O> (cli: LoadCli<O>): Promise<number> {
  const say = (text: string): void => { process.stderr.write(`${text}\n`) }
  // The AWS SDK warns on Node 20 about its releases after January 2027 (the README says which Node is tested).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  let options: O | undefined
  try {
    options = cli.parse(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof LoadUsageError)) throw error
    process.stderr.write(`${cli.name}: ${error.message}\n${cli.usage}`)
    return 2
  }
  if (options === undefined) {
    process.stdout.write(cli.usage)
    return 0
  }

  const abort = new AbortController()
  const interrupt = (): void => {
    if (abort.signal.aborted) {
      say(`${cli.name}: second interrupt, exiting now`)
      process.exit(130)
    }
    say(`${cli.name}: interrupted, stopping`)
    abort.abort()
  }
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)
  let emulators: LoadEmulators | undefined
  try {
    say(`${cli.name}: starting the emulators (${cli.dynamodb(options)}, moto for SQS)`)
    emulators = await startLoadEmulators({ dynamodb: cli.dynamodb(options) })
    if (abort.signal.aborted) return 130
    const code = await cli.run(options, { emulators, signal: abort.signal, say })
    return abort.signal.aborted ? 130 : code
  } catch (error) {
    say(`${cli.name}: ${error instanceof EmulatorUnavailableError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error)}`)
    return 1
  } finally {
    await emulators?.stop()
  }
}
