import { execFileSync } from 'node:child_process'

/** Every process under `pid`, deepest last. */
export function descendants (pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n').map((row) => row.trim().split(/\s+/).map(Number))
  const found: number[] = []
  const visit = (parent: number) => { for (const [child, ppid] of rows) if (ppid === parent && child !== undefined) { found.push(child); visit(child) } }
  visit(pid)
  return found
}

/** Whether a process with this id exists. */
export function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
