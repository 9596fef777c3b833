import { readFileSync, statSync } from 'node:fs'
import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { Logger } from 'pino'

/**
 * The faults a local run can be told to suffer, as `LOCAL_FAULTS_FILE` holds them (JSON). A
 * missing key, or a missing file, is no fault. Local only: production code never reads it.
 */
export const FaultsSchema = Type.Object({
  /** Fails that share of DynamoDB calls with a throttling error, before they are sent. */
  dynamodb: Type.Optional(Type.Object({ throttleRate: Type.Number({ minimum: 0, maximum: 1 }) }, { additionalProperties: false })),
  /** The sandbox provider: down (every call fails transiently), and a latency replacing the configured one. */
  provider: Type.Optional(Type.Object({
    down: Type.Optional(Type.Boolean()),
    latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 }))
  }, { additionalProperties: false })),
  /** The SQS pollers receive with this visibility timeout: short, and messages reappear while still in hand. */
  sqs: Type.Optional(Type.Object({ visibilityTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 43_200 })) }, { additionalProperties: false }))
}, { additionalProperties: false })

/** Faults to inject, as read from the file. */
export type Faults = Static<typeof FaultsSchema>

/** Raised for a faults file that does not describe faults. */
export class InvalidFaultsError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidFaultsError'
  }
}

/**
 * Reads the text of a faults file.
 * @throws InvalidFaultsError saying what is wrong
 */
export function parseFaults (text: string): Faults {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new InvalidFaultsError(`not JSON: ${(error as Error).message}`)
  }
  if (!Value.Check(FaultsSchema, value)) {
    const problems = [...Value.Errors(FaultsSchema, value)].map((error) => `${error.path === '' ? '/' : error.path}: ${error.message}`)
    throw new InvalidFaultsError(problems.join('; '))
  }
  return value
}

/** The faults file, followed. */
export interface FaultsWatcher {
  /** The faults in force now. */
  current: () => Faults
  /** Stops following the file. */
  stop: () => void
}

/** How often the file is looked at. */
export const FAULTS_POLL_INTERVAL_MS = 200

/**
 * Follows a faults file: read now, then again whenever it changes (its mtime, size or inode,
 * looked at every `intervalMs` on an unref'd timer), telling `onChange` each time. A file that
 * cannot be read as faults is logged and leaves the faults in force as they were; a file that
 * goes away means no faults.
 */
export function watchFaults (path: string, { logger, onChange, intervalMs = FAULTS_POLL_INTERVAL_MS }: {
  logger: Logger
  onChange: (faults: Faults) => void
  intervalMs?: number
}): FaultsWatcher {
  let faults: Faults = {}
  let seen: string | undefined
  const look = (): void => {
    const signature = signatureOf(path)
    if (signature === seen) return
    seen = signature
    let next: Faults
    try {
      next = signature === 'absent' ? {} : parseFaults(readFileSync(path, 'utf8'))
    } catch (error) {
      logger.warn({ err: error, faultsFile: path }, 'LOCAL_FAULTS_FILE cannot be read as faults; the faults in force are unchanged')
      return
    }
    faults = next
    logger.warn({ faults, faultsFile: path }, 'injected faults now in force (LOCAL_FAULTS_FILE)')
    onChange(faults)
  }
  look()
  const timer = setInterval(look, intervalMs)
  timer.unref()
  return {
    current: () => faults,
    stop: () => { clearInterval(timer) }
  }
}

function signatureOf (path: string): string {
  try {
    const stat = statSync(path)
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`
  } catch {
    return 'absent'
  }
}
