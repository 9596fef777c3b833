import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs'

/** One real (not replayed) successful sandbox charge, as a line of the ledger file. */
export interface SandboxLedgerEntry {
  paymentId: string
  idempotencyKey: string
  providerRef: string
  /** When it was charged, ISO 8601. */
  at: string
}

/** The sandbox's record of its real charges, kept outside the process. */
export interface SandboxLedger {
  /** The charges recorded so far, oldest first (those of earlier runs included). */
  entries: () => readonly SandboxLedgerEntry[]
  /** Records a charge; written (synchronously) before it returns, so a kill -9 right after keeps it. */
  record: (entry: SandboxLedgerEntry) => void
}

/** Raised when a ledger file holds a line that is not a charge, other than a torn last line. */
export class SandboxLedgerError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SandboxLedgerError'
  }
}

/**
 * Reads a ledger file: one JSON object per line. A last line without its newline that does not
 * parse was torn by a kill mid-write and is left out (the charge it was recording had not been
 * returned yet); any other line that is not a charge is an error. No file is an empty ledger.
 * @throws SandboxLedgerError naming the line
 */
export function readSandboxLedger (path: string): { entries: SandboxLedgerEntry[], validLength: number } {
  if (!existsSync(path)) return { entries: [], validLength: 0 }
  const text = readFileSync(path, 'utf8')
  const entries: SandboxLedgerEntry[] = []
  let offset = 0
  let lineNumber = 0
  while (offset < text.length) {
    const end = text.indexOf('\n', offset)
    const line = text.slice(offset, end === -1 ? text.length : end)
    lineNumber++
    const entry = parseEntry(line)
    if (entry === undefined) {
      if (end === -1) break
      throw new SandboxLedgerError(`${path}:${lineNumber}: not a sandbox ledger entry: ${JSON.stringify(line.slice(0, 200))}`)
    }
    if (end === -1) break
    entries.push(entry)
    offset = end + 1
  }
  return { entries, validLength: Buffer.byteLength(text.slice(0, offset)) }
}

/**
 * Opens (or starts) the ledger at `path`: append-only JSON lines. A torn last line is cut off
 * first, so the next charge starts on a line of its own.
 */
export function openSandboxLedger (path: string): SandboxLedger {
  const { entries, validLength } = readSandboxLedger(path)
  if (existsSync(path)) truncateSync(path, validLength)
  return {
    entries: () => entries,
    record (entry) {
      appendFileSync(path, `${JSON.stringify(entry)}\n`)
      entries.push(entry)
    }
  }
}

function parseEntry (line: string): SandboxLedgerEntry | undefined {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { paymentId, idempotencyKey, providerRef, at } = value as Record<string, unknown>
  if (typeof paymentId !== 'string' || typeof idempotencyKey !== 'string' || typeof providerRef !== 'string' || typeof at !== 'string') return undefined
  return { paymentId, idempotencyKey, providerRef, at }
}
